#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

// Big-endian fixed-width integer coding (every multi-byte integer RocketMQ puts
// on disk or on the wire is big-endian two's complement). The pointer forms do
// no bounds checks: callers check the span first.
namespace thruster {

using ByteSpan = std::span<std::byte>;
using ConstByteSpan = std::span<const std::byte>;

// True when every byte of `s` is zero (a preallocated, never-written stretch of a file).
inline bool IsAllZero(ConstByteSpan s) {
  for (std::byte b : s) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

template <typename T>
inline T ByteSwapIfLittle(T v) {
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(T) == 1) {
      return v;
    } else if constexpr (sizeof(T) == 2) {
      return static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(v)));
    } else if constexpr (sizeof(T) == 4) {
      return static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(v)));
    } else {
      return static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(v)));
    }
  } else {
    return v;
  }
}

template <typename T>
inline T LoadBE(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return ByteSwapIfLittle(v);
}
template <typename T>
inline void StoreBE(void* p, T v) {
  v = ByteSwapIfLittle(v);
  std::memcpy(p, &v, sizeof(T));
}

inline int16_t LoadI16(const void* p) { return LoadBE<int16_t>(p); }
inline int32_t LoadI32(const void* p) { return LoadBE<int32_t>(p); }
inline int64_t LoadI64(const void* p) { return LoadBE<int64_t>(p); }
inline void StoreI16(void* p, int16_t v) { StoreBE(p, v); }
inline void StoreI32(void* p, int32_t v) { StoreBE(p, v); }
inline void StoreI64(void* p, int64_t v) { StoreBE(p, v); }

inline std::string_view AsStringView(ConstByteSpan s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}
inline ConstByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Appends big-endian values to a growable byte string (used by encoders that
// build a frame or record).
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void I8(int8_t v) { out_->push_back(static_cast<char>(v)); }
  void I16(int16_t v) { Put(v); }
  void I32(int32_t v) { Put(v); }
  void I64(int64_t v) { Put(v); }
  void Bytes(std::string_view b) { out_->append(b); }
  void Bytes(ConstByteSpan b) { out_->append(AsStringView(b)); }
  size_t size() const { return out_->size(); }

 private:
  template <typename T>
  void Put(T v) {
    char buf[sizeof(T)];
    StoreBE(buf, v);
    out_->append(buf, sizeof(T));
  }
  std::string* out_;
};

// Reads big-endian values from a span, checking bounds; after any read past the
// end ok() is false and every later read returns zero.
class ByteReader {
 public:
  explicit ByteReader(ConstByteSpan in) : in_(in) {}
  explicit ByteReader(std::string_view in) : in_(AsBytes(in)) {}
  int8_t I8() { return Get<int8_t>(); }
  int16_t I16() { return Get<int16_t>(); }
  int32_t I32() { return Get<int32_t>(); }
  int64_t I64() { return Get<int64_t>(); }
  ConstByteSpan Bytes(size_t n) {
    if (!Need(n)) return {};
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  bool Skip(size_t n) {
    if (!Need(n)) return false;
    pos_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  template <typename T>
  T Get() {
    if (!Need(sizeof(T))) return 0;
    T v = LoadBE<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  ConstByteSpan in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace thruster

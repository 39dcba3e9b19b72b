#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace thruster {

// The outcome of an operation that can fail in an expected way (I/O, corrupt
// bytes, bad input). Cheap to copy when OK (one null pointer); carries a code
// and a message otherwise. Thread-safe to copy and read.
class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
    kOk,
    kNotFound,
    kCorruption,
    kIOError,
    kInvalidArgument,
    kShutdown,
    kBusy,
    kTimeout,
    kResourceExhausted,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) {
    return Status(Code::kNotFound, msg);
  }
  static Status Corruption(std::string_view msg) {
    return Status(Code::kCorruption, msg);
  }
  // Keeps errno: the message ends with strerror(err).
  static Status IOError(std::string_view context, int err);
  static Status IOError(std::string_view msg) {
    return Status(Code::kIOError, msg);
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status Shutdown(std::string_view msg) {
    return Status(Code::kShutdown, msg);
  }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status Timeout(std::string_view msg) {
    return Status(Code::kTimeout, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  int os_error() const { return rep_ ? rep_->err : 0; }
  std::string_view message() const {
    return rep_ ? std::string_view(rep_->msg) : std::string_view();
  }
  std::string ToString() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsIOError() const { return code() == Code::kIOError; }

  // Drops the status on purpose; grep for IgnoreError to find every deliberate
  // drop.
  void IgnoreError() const {}

 private:
  struct Rep {
    Code code;
    int err;
    std::string msg;
  };
  Status(Code code, std::string_view msg, int err = 0)
      : rep_(std::make_shared<Rep>(Rep{code, err, std::string(msg)})) {}

  std::shared_ptr<const Rep> rep_;
};

std::string_view CodeName(Status::Code code);

}  // namespace thruster

#define TH_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::thruster::Status th_status__ = (expr);   \
    if (!th_status__.ok()) return th_status__; \
  } while (0)

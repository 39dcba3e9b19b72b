#pragma once

#include <compare>
#include <cstdint>

// The store's three kinds of position (STYLE.md §2), as distinct one-field
// types so that passing one where another is expected fails to compile:
//   PhysOffset   byte position in the whole CommitLog, counted across segments
//   QueueOffset  position of a message within one consume queue (0, 1, 2, ...)
//   FilePos      byte position inside one file
// Each compares with its own kind only; adding a count moves it, and the
// difference of two is a plain count. `value` is the raw number, for encoding
// and for APIs that have not been typed yet. Constructing one is explicit:
// `PhysOffset{phys}`.
namespace thruster::store {

struct PhysOffset {
  int64_t value = 0;

  constexpr PhysOffset() = default;
  constexpr explicit PhysOffset(int64_t v) : value(v) {}
  friend constexpr auto operator<=>(PhysOffset, PhysOffset) = default;
  friend constexpr PhysOffset operator+(PhysOffset a, int64_t bytes) {
    return PhysOffset(a.value + bytes);
  }
  friend constexpr int64_t operator-(PhysOffset a, PhysOffset b) {
    return a.value - b.value;
  }
};

struct QueueOffset {
  int64_t value = 0;

  constexpr QueueOffset() = default;
  constexpr explicit QueueOffset(int64_t v) : value(v) {}
  friend constexpr auto operator<=>(QueueOffset, QueueOffset) = default;
  friend constexpr QueueOffset operator+(QueueOffset a, int64_t messages) {
    return QueueOffset(a.value + messages);
  }
  friend constexpr int64_t operator-(QueueOffset a, QueueOffset b) {
    return a.value - b.value;
  }
};

struct FilePos {
  int32_t value = 0;

  constexpr FilePos() = default;
  constexpr explicit FilePos(int32_t v) : value(v) {}
  friend constexpr auto operator<=>(FilePos, FilePos) = default;
  friend constexpr FilePos operator+(FilePos a, int32_t bytes) {
    return FilePos(a.value + bytes);
  }
  friend constexpr int32_t operator-(FilePos a, FilePos b) {
    return a.value - b.value;
  }
};

}  // namespace thruster::store

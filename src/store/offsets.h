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

// One kind of position: `Tag` keeps the kinds apart, `Rep` is its raw number.
template <typename Tag, typename Rep>
struct Position {
  Rep value = 0;

  constexpr Position() = default;
  constexpr explicit Position(Rep v) : value(v) {}
  friend constexpr auto operator<=>(Position, Position) = default;
  friend constexpr Position operator+(Position a, Rep count) {
    return Position(a.value + count);
  }
  friend constexpr Rep operator-(Position a, Position b) {
    return a.value - b.value;
  }
};

using PhysOffset = Position<struct PhysOffsetTag, int64_t>;
using QueueOffset = Position<struct QueueOffsetTag, int64_t>;
using FilePos = Position<struct FilePosTag, int32_t>;

}  // namespace thruster::store

#pragma once

#include <cstdint>
#include <string_view>

namespace thruster::message {

// JHash (message.h: Java's String.hashCode over the UTF-16 code units of a
// UTF-8 string) continued over `s` from the hash `seed` of a string before it:
// JHash(a + b) == JHashContinue(JHash(a), b) whenever the split does not cut a
// UTF-8 sequence in two (`a` ends with a whole sequence, or `b` starts with an
// ASCII byte, which never continues one). JHash(s) is JHashContinue(0, s).
// The index hashes "topic#key" this way without building it.
int32_t JHashContinue(int32_t seed, std::string_view s);

}  // namespace thruster::message

#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace thruster::message {

// FindProperty (properties.h) for several names in one scan of a properties
// string: values[i] gets what FindProperty(props, names[i]) returns (the last
// pair with that name and a non-empty value; nullopt for an empty name or one
// holding the name-value separator). Needs values.size() >= names.size().
void FindProperties(std::string_view props,
                    std::span<const std::string_view> names,
                    std::span<std::optional<std::string_view>> values);

}  // namespace thruster::message

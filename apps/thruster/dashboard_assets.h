#pragma once

// The dashboard's web front end (web/dashboard/), compiled into the binary by
// cmake/embed_files.cmake: `thruster dashboard` serves these and reads nothing
// from disk.
#include <span>
#include <string_view>

namespace thruster::cli {

struct EmbeddedAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view bytes;
};

// Every embedded file; lives for the whole program.
std::span<const EmbeddedAsset> DashboardAssets();

}  // namespace thruster::cli

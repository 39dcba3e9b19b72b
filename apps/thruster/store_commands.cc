// `thruster store ...`: offline inspection and verification of a store directory.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/io/posix_file_system.h"
#include "store/store_verifier.h"
#include "thruster/commands.h"

namespace thruster::cli {
namespace {

int Verify(const std::string& dir, bool json, bool no_crc) {
  auto* fs = store::io::DefaultFileSystem();
  std::string commitlog = store::io::JoinPath(dir, "commitlog");
  auto r = store::VerifyCommitLog(fs, commitlog, !no_crc);
  if (!r.ok()) {
    fmt::print(stderr, "thruster store verify: {}\n", r.status().ToString());
    return 2;
  }
  const auto& rep = *r;
  if (json) {
    nlohmann::json j = {{"ok", rep.ok},           {"segments", rep.segments},
                        {"segment_size", rep.segment_size}, {"records", rep.records},
                        {"bytes", rep.bytes},     {"first_offset", rep.first_offset},
                        {"last_offset", rep.last_offset},   {"end_offset", rep.end_offset}};
    if (!rep.ok) {
      j["error"] = rep.error;
      j["error_file"] = rep.error_file;
      j["error_offset"] = rep.error_offset;
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("commitlog   {}\n", commitlog);
    fmt::print("segments    {} of {} bytes\n", rep.segments, rep.segment_size);
    fmt::print("records     {}\n", rep.records);
    fmt::print("bytes       {}\n", rep.bytes);
    fmt::print("first       {}\n", rep.first_offset);
    fmt::print("last        {}\n", rep.last_offset);
    fmt::print("end         {}\n", rep.end_offset);
    if (rep.ok) {
      fmt::print("result      OK\n");
    } else {
      fmt::print("result      CORRUPT: {}\n", rep.error);
    }
  }
  return rep.ok ? 0 : 1;
}

}  // namespace

void AddStoreCommands(CLI::App& app, int* exit_code) {
  auto* store = app.add_subcommand("store", "offline store tools (info, dump, verify, recover)");
  store->require_subcommand(1);

  auto* verify = store->add_subcommand("verify", "check every record of a store; non-zero exit on corruption");
  static std::string dir;
  static bool json = false;
  static bool no_crc = false;
  verify->add_option("dir", dir, "store root directory (holds commitlog/)")->required();
  verify->add_flag("--json", json, "print one JSON object");
  verify->add_flag("--no-crc", no_crc, "skip body CRC checks");
  verify->callback([exit_code] { *exit_code = Verify(dir, json, no_crc); });
}

}  // namespace thruster::cli

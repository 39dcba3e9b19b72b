#pragma once

#include <CLI/CLI.hpp>

// Sub-command registration for the `thruster` tool. Each Add… function adds its
// commands to `app`; the command's callback sets *exit_code.
namespace thruster::cli {

void AddStoreCommands(CLI::App& app, int* exit_code);
void AddBenchCommands(CLI::App& app, int* exit_code);
// `thruster admin ...` (admin_commands.cc).
void AddAdminCommands(CLI::App& app, int* exit_code);
// `thruster bench produce|consume` (bench_net.cc); adds to the `bench` command
// when it exists.
void AddNetBenchCommands(CLI::App& app, int* exit_code);

}  // namespace thruster::cli

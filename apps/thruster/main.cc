// `thruster`: admin, offline store tools and benchmarks.
#include <CLI/CLI.hpp>

#include "thruster/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "thruster: admin, store tools and benchmarks for the Thruster broker"};
  app.require_subcommand(1);
  int exit_code = 0;
  thruster::cli::AddStoreCommands(app, &exit_code);
  thruster::cli::AddBenchCommands(app, &exit_code);
  thruster::cli::AddAdminCommands(app, &exit_code);
  thruster::cli::AddNetBenchCommands(app, &exit_code);
  thruster::cli::AddDashboardCommand(app, &exit_code);
  thruster::cli::AddTimerBenchCommand(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}

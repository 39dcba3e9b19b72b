#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "remoting/tls.h"

namespace thruster::client {
class ClientInstance;
}

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
// `thruster bench timer` (bench_timer.cc): many pending timer messages.
void AddTimerBenchCommand(CLI::App& app, int* exit_code);
// `--accessKey/--secretKey` on `cmd`: the ACL keys requests are signed with
// (acl_commands.cc).
void AddAclSigningOptions(CLI::App& cmd, std::string* access_key,
                          std::string* secret_key);
// `--tls`, `--tlsTrustCertPath`, `--tlsCertPath`, `--tlsKeyPath`,
// `--tlsKeyPassword` on `cmd`: connect with TLS (tls_options.cc).
void AddTlsOptions(CLI::App& cmd, remoting::TlsClientOptions* tls);
// `thruster admin updateAclConfig|deleteAclConfig|clusterAclConfigVersion|
// updateGlobalWhiteAddr` (acl_commands.cc), added to the `admin` command.
void AddAclAdminCommands(CLI::App& admin, int* exit_code);
// `thruster admin statsAll|cleanExpiredCQ|recallMessage` (admin_commands2.cc),
// added to the `admin` command.
void AddAdminCommands2(CLI::App& admin, int* exit_code);
// `thruster dashboard`: the web dashboard (dashboard_command.cc).
void AddDashboardCommand(CLI::App& app, int* exit_code);
// `thruster admin traceMessage` (trace_command.cc), added to `admin`.
void AddTraceMessageCommand(CLI::App& admin, int* exit_code);
// `thruster admin haStatus` (ha_commands.cc), added to `admin`.
void AddHaAdminCommands(CLI::App& admin, int* exit_code);

// What every `thruster admin` command needs to reach the cluster: the name
// servers (-n, default NAMESRV_ADDR as mqadmin), the ACL keys requests are
// signed with and the TLS options. Argument structs derive from it.
struct AdminConnection {
  std::string namesrv = "127.0.0.1:9876";
  std::string access_key;
  std::string secret_key;
  remoting::TlsClientOptions tls;
};
// -n/--namesrvAddr, --accessKey/--secretKey and the --tls options on `cmd`
// (admin_common.cc).
void AddAdminConnectionOptions(CLI::App& cmd, AdminConnection* c);
// Like mqadmin, NAMESRV_ADDR, when set, is the default of -n.
void SeedNamesrvFromEnv(AdminConnection* c);
// Starts an admin client on `c`, runs `fn` with it and stops it. Returns the
// exit status: 0, or 1 after printing "thruster admin NAME: REASON" on
// stderr.
int RunAdminCommand(std::string_view name, const AdminConnection& c,
                    const std::function<Status(client::ClientInstance&)>& fn);
// A timestamp as mqadmin prints it: local "yyyy-MM-dd HH:mm:ss,SSS"; "-" for
// ms <= 0.
std::string FormatTime(int64_t ms);

}  // namespace thruster::cli

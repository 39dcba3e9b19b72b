// What the `thruster admin` commands share: connection options, the client
// they run on, the time format.
#include <fmt/format.h>

#include <cstdlib>
#include <ctime>

#include "client/client_instance.h"
#include "thruster/commands.h"

namespace thruster::cli {

void SeedNamesrvFromEnv(AdminConnection* c) {
  if (const char* env = std::getenv("NAMESRV_ADDR"); env != nullptr && *env)
    c->namesrv = env;
}

void AddAdminConnectionOptions(CLI::App& cmd, AdminConnection* c) {
  cmd.add_option("-n,--namesrvAddr", c->namesrv,
                 "name server address(es), ';'-separated")
      ->capture_default_str();
  AddAclSigningOptions(cmd, &c->access_key, &c->secret_key);
  AddTlsOptions(cmd, &c->tls);
}

int RunAdminCommand(std::string_view name, const AdminConnection& c,
                    const std::function<Status(client::ClientInstance&)>& fn) {
  client::ClientOptions o;
  o.namesrv_addr = c.namesrv;
  o.heartbeat_interval_ms = 0;
  o.instance_name = "admin";
  o.access_key = c.access_key;
  o.secret_key = c.secret_key;
  o.tls = c.tls;
  client::ClientInstance instance(o);
  Status s = instance.Start();
  if (s.ok()) s = fn(instance);
  instance.Stop();
  if (!s.ok()) {
    fmt::print(stderr, "thruster admin {}: {}\n", name, s.message());
    return 1;
  }
  return 0;
}

std::string FormatTime(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{},{:03}", buf, ms % 1000);
}

}  // namespace thruster::cli

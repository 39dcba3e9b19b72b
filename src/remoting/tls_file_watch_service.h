#pragma once

// Certificate renewal without a restart (spec/acl.md §9.2): the `tls-watch`
// thread looks at a server's tls.server.certPath, keyPath and trustCertPath
// every interval and rebuilds its TLS context as RocketMQ's broker does: at
// once when the trust file changed, and when both the certificate and the key
// have changed (a new certificate without its new key would not load, so the
// first of the two to change waits for the other). New connections get the
// new certificate; established ones keep theirs. A file is "changed" when its
// bytes differ from the last ones seen (RocketMQ compares a hash of them).
//
// Lifecycle: construct → Start() → Stop(); CheckNow() may be called instead of
// the thread (tests). `server` must outlive it. Thread-safe. A server that is
// not a RemotingServer (the gRPC port) passes its own reload function.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "common/service_thread.h"
#include "remoting/remoting_server.h"
#include "remoting/tls.h"

namespace thruster::remoting {

class TlsFileWatchService : public ServiceThread {
 public:
  // RocketMQ's FileWatchService looks every 500 ms.
  static constexpr int64_t kDefaultIntervalMs = 500;

  // Remembers the files' current bytes: a change is measured from now.
  TlsFileWatchService(RemotingServer* server, const TlsServerOptions& options,
                      int64_t interval_ms = kDefaultIntervalMs);
  // The same with `reload` run on a change in place of RemotingServer's
  // ReloadTls (it logs its own failure; the previous context stays).
  TlsFileWatchService(std::function<Status()> reload,
                      const TlsServerOptions& options,
                      int64_t interval_ms = kDefaultIntervalMs);
  ~TlsFileWatchService() override { Stop(); }

  // One look at the files; true when the server's TLS context was rebuilt.
  bool CheckNow() TH_EXCLUDES(mu_);

 protected:
  void Run() override;

 private:
  // One watched file: its last bytes (nullopt: could not be read) and whether
  // they changed since the context was last built.
  struct WatchedTlsFile {
    std::string path;
    std::optional<std::string> content;
    bool changed = false;
  };
  // True when `f` now differs from what was seen last.
  static bool Refresh(WatchedTlsFile& f);

  const std::function<Status()> reload_;
  const int64_t interval_ms_;
  Mutex mu_;
  WatchedTlsFile cert_ TH_GUARDED_BY(mu_);
  WatchedTlsFile key_ TH_GUARDED_BY(mu_);
  WatchedTlsFile trust_ TH_GUARDED_BY(mu_);
};

}  // namespace thruster::remoting

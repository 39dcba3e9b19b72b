#include "remoting/tls_file_watch_service.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "common/logging.h"

namespace thruster::remoting {
namespace {

std::optional<std::string> ReadWatchedTlsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

}  // namespace

TlsFileWatchService::TlsFileWatchService(RemotingServer* server,
                                         const TlsServerOptions& options,
                                         int64_t interval_ms)
    : TlsFileWatchService([server] { return server->ReloadTls(); }, options,
                          interval_ms) {}

TlsFileWatchService::TlsFileWatchService(std::function<Status()> reload,
                                         const TlsServerOptions& options,
                                         int64_t interval_ms)
    : ServiceThread("tls-watch"),
      reload_(std::move(reload)),
      interval_ms_(interval_ms) {
  MutexLock lock(&mu_);
  cert_.path = options.cert_path;
  key_.path = options.key_path;
  trust_.path = options.trust_cert_path;
  for (WatchedTlsFile* f : {&cert_, &key_, &trust_})
    if (!f->path.empty()) f->content = ReadWatchedTlsFile(f->path);
}

bool TlsFileWatchService::Refresh(WatchedTlsFile& f) {
  if (f.path.empty()) return false;
  std::optional<std::string> now = ReadWatchedTlsFile(f.path);
  // A file that is briefly missing (replaced by delete and create) is not a
  // change; its new bytes are, once they are there.
  if (!now || now == f.content) return false;
  f.content = std::move(now);
  f.changed = true;
  TH_LOG(remoting, kInfo, "TLS: {} changed", f.path);
  return true;
}

bool TlsFileWatchService::CheckNow() {
  MutexLock lock(&mu_);
  Refresh(cert_);
  Refresh(key_);
  Refresh(trust_);
  const bool reload = trust_.changed || (cert_.changed && key_.changed);
  if (!reload) return false;
  cert_.changed = key_.changed = trust_.changed = false;
  // A failure is logged by the server, which keeps the previous context; the
  // next change of the files tries again.
  return reload_().ok();
}

void TlsFileWatchService::Run() {
  while (!stopped()) {
    WaitForRunning(interval_ms_);
    if (stopped()) break;
    CheckNow();
  }
}

}  // namespace thruster::remoting

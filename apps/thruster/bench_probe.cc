#include "thruster/bench_probe.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "client/client_instance.h"
#include "remoting/codes.h"
#include "remoting/frame_codec.h"
#include "remoting/remoting_client.h"

namespace thruster::cli {

double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) +
           static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

Result<double> ProcessCpuSeconds(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!in || !std::getline(in, line))
    return Status::NotFound(fmt::format("no process {}", pid));
  // The command name (field 2) may hold spaces; the fields after its closing
  // parenthesis start with field 3 (state). utime and stime are fields 14, 15.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return Status::Corruption(fmt::format("/proc/{}/stat: {}", pid, line));
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result<int64_t> ProcessRssKb(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  if (!in) return Status::NotFound(fmt::format("no process {}", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return Status::NotFound(fmt::format("/proc/{}/status has no VmRSS", pid));
}

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

CpuWindow::CpuWindow(int broker_pid) : broker_pid_(broker_pid) {
  client0_ = SelfCpuSeconds();
  if (broker_pid_ > 0) {
    auto b = ProcessCpuSeconds(broker_pid_);
    if (b.ok()) broker0_ = *b;
  }
}

void CpuWindow::Finish(int64_t messages, double seconds) {
  const double client = SelfCpuSeconds() - client0_;
  const double n = messages > 0 ? static_cast<double>(messages) : 1;
  client_us_per_msg_ = client * 1e6 / n;
  client_share_ =
      seconds > 0 ? client / seconds / static_cast<double>(AvailableCpus()) : 0;
  if (broker0_ >= 0) {
    auto b = ProcessCpuSeconds(broker_pid_);
    if (b.ok()) broker_us_per_msg_ = (*b - broker0_) * 1e6 / n;
  }
}

namespace {

Status WriteAllBytes(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError("write to broker", errno);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status ReadAllBytes(int fd, char* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::read(fd, out + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("read from broker", errno);
    if (n == 0) return Status::IOError("broker closed the connection");
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<IdleConnections>> IdleConnections::Open(
    const std::string& addr, int count, const std::string& group) {
  TH_ASSIGN_OR_RETURN(auto host_port, remoting::SplitHostPort(addr));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(host_port.second);
  if (::inet_pton(AF_INET, host_port.first.c_str(), &sa.sin_addr) != 1)
    return Status::InvalidArgument(fmt::format(
        "idle connections need an IPv4 broker address, not {}", addr));
  // Room for the bench's own connections and files besides the idle ones.
  const rlim_t want = static_cast<rlim_t>(count) + 256;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < want) {
    if (lim.rlim_max < want)
      return Status::InvalidArgument(fmt::format(
          "{} idle connections need {} open files; the hard limit is {} "
          "(raise it with ulimit -Hn)",
          count, want, lim.rlim_max));
    lim.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
      return Status::IOError("setrlimit RLIMIT_NOFILE", errno);
  }
  std::unique_ptr<IdleConnections> out(new IdleConnections());
  const std::string prefix = fmt::format("127.0.0.1@{}#idle-", ::getpid());
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::IOError("socket", errno);
    out->fds_.push_back(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0)
      return Status::IOError(
          fmt::format("idle connection {} to {}", i + 1, addr), errno);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto req =
        client::ClientInstance::NewRequest(remoting::request_code::kHeartBeat);
    req.set_body(fmt::format(
        R"({{"clientID":"{}{}","consumerDataSet":[],"producerDataSet":[{{"groupName":"{}"}}]}})",
        prefix, i, group));
    TH_ASSIGN_OR_RETURN(std::string frame, remoting::EncodeFrame(req));
    TH_RETURN_IF_ERROR(WriteAllBytes(fd, frame));
    char len_be[4];
    TH_RETURN_IF_ERROR(ReadAllBytes(fd, len_be, sizeof(len_be)));
    uint32_t len = 0;
    std::memcpy(&len, len_be, sizeof(len));
    len = ntohl(len);
    if (len > (1u << 24))
      return Status::Corruption(
          fmt::format("heartbeat answer of {} bytes", len));
    std::string payload(len, '\0');
    TH_RETURN_IF_ERROR(ReadAllBytes(fd, payload.data(), len));
    TH_ASSIGN_OR_RETURN(auto resp, remoting::DecodeFramePayload(
                                       std::as_bytes(std::span(payload))));
    TH_RETURN_IF_ERROR(client::StatusFromResponse(resp, "idle heartbeat"));
  }
  return out;
}

IdleConnections::~IdleConnections() {
  for (int fd : fds_) ::close(fd);
}

}  // namespace thruster::cli

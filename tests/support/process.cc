#include "tests/support/process.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace thruster::testing {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint16_t PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

int64_t ProcStatusField(pid_t pid, const std::string& field) {
  std::istringstream in(
      ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

int64_t OpenFdCount(pid_t pid) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return ec ? -1 : n;
}

ChildProcess::~ChildProcess() { Stop(SIGKILL); }

bool ChildProcess::Alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  pid_ = -1;
  return false;
}

Status ChildProcess::Start(const std::vector<std::string>& argv,
                           std::string log_path) {
  if (pid_ > 0) return Status::InvalidArgument("already running");
  if (argv.empty()) return Status::InvalidArgument("no program");
  log_path_ = std::move(log_path);
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_ = ::fork();
  if (pid_ < 0) return Status::IOError("fork", errno);
  if (pid_ == 0) {
    FILE* f = std::freopen(log_path_.c_str(), "w", stdout);
    if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) ::_exit(127);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  return Status::OK();
}

Status ChildProcess::WaitForLog(const std::regex& re,
                                std::chrono::milliseconds timeout,
                                std::smatch* m, std::string* text) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    *text = log();
    if (std::regex_search(*text, *m, re)) return Status::OK();
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != 0) {
      pid_ = -1;
      return Status::IOError("process exited:\n" + *text);
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Timeout("no such line in the log:\n" + *text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // log poll
  }
}

void ChildProcess::Signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ChildProcess::Stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  if (sig != SIGKILL && sig != SIGCONT) ::kill(pid_, SIGCONT);  // if stopped
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

BrokerProcess::BrokerProcess(std::string bin, std::string dir,
                             std::vector<std::string> flags,
                             int64_t segment_size)
    : bin_(std::move(bin)),
      dir_(std::move(dir)),
      flags_(std::move(flags)),
      segment_size_(segment_size) {}

Status BrokerProcess::Start() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  std::vector<std::string> args = {
      bin_,
      "--listenPort=0",
      "--bindAddress=127.0.0.1",
      "--brokerIP1=127.0.0.1",
      "--logTarget=stderr",
      "--mappedFileSizeCommitLog=" + std::to_string(segment_size_),
      "--maxHashSlotNum=1000",
      "--maxIndexNum=4000",
      "--storePathRootDir=" + dir_ + "/store"};
  args.insert(args.end(), flags_.begin(), flags_.end());
  const std::string log_path =
      dir_ + "/broker-" + std::to_string(++starts_) + ".log";
  if (Status s = child_.Start(args, log_path); !s.ok()) return s;
  const std::regex listening(
      R"(thruster-broker: \S+ listening on 127\.0\.0\.1:(\d+) \(advertised [^)]*\)(, embedded name server on port (\d+))?\n)");
  std::smatch m;
  std::string text;
  if (Status s =
          child_.WaitForLog(listening, std::chrono::seconds(30), &m, &text);
      !s.ok())
    return s;
  port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
  addr_ = "127.0.0.1:" + m[1].str();
  namesrv_ = m[3].matched ? "127.0.0.1:" + m[3].str() : std::string();
  return Status::OK();
}

}  // namespace thruster::testing

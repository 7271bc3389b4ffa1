// run_python_sandboxed: hands the program to a sandboxed python3 through a sealed memfd on
// its stdin, collects stdout and stderr up to their caps, and kills the child's process group
// (and, through its pid namespace, everything it started) at the time limit.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/sandbox.hpp"
#include "sandbox_setup.hpp"

namespace nanochat {
namespace {

// Exit codes of the driver below.
constexpr int kExitPassed = 0;
constexpr int kExitMemory = 3;

// What python3 runs (-c): the program from stdin, exec()'d in a fresh namespace as nanochat's
// execute_code does; any exception, SystemExit included, fails, a MemoryError with its own
// code. os._exit, taken before the program runs, ends the process without waiting for
// threads the program left behind.
constexpr const char* kDriver = R"(import os, sys, traceback
_exit = os._exit
code = 1
try:
    exec(compile(sys.stdin.buffer.read(), "<program>", "exec"), {})
    code = 0
except BaseException as error:
    code = 3 if isinstance(error, MemoryError) else 1
    try:
        traceback.print_exc()
    except BaseException:
        pass
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except BaseException:
        pass
_exit(code)
)";

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

[[noreturn]] void throw_errno(const char* what) { throw Error(fmt::format("sandbox: {}: {}", what, std::strerror(errno))); }

// The program in a sealed in-memory file: the child reads it as stdin and cannot change it.
int program_file(const std::string& program) {
  const int fd = memfd_create("nanochat-sandbox-program", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw_errno("memfd_create");
  Fd owner(fd);
  for (size_t done = 0; done < program.size();) {
    const ssize_t wrote = write(fd, program.data() + done, program.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) throw_errno("write the program");
    done += static_cast<size_t>(wrote);
  }
  if (lseek(fd, 0, SEEK_SET) != 0) throw_errno("lseek");
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) throw_errno("seal");
  return owner.release();
}

void check_limits(const SandboxLimits& limits) {
  if (!(limits.seconds > 0) || !std::isfinite(limits.seconds)) {
    throw UsageError(fmt::format("sandbox: the time limit must be a positive number of seconds, not {}", limits.seconds));
  }
  const std::pair<const char*, uint64_t> counts[] = {{"memory_bytes", limits.memory_bytes},
                                                     {"file_bytes", limits.file_bytes},
                                                     {"open_files", limits.open_files},
                                                     {"processes", limits.processes},
                                                     {"output_bytes", limits.output_bytes}};
  for (const auto& [name, value] : counts) {
    if (value == 0) throw UsageError(fmt::format("sandbox: the limit {} must be positive", name));
  }
}

// One of the child's output streams, read until EOF or its cap.
struct Capture {
  Fd fd;
  std::string text;
  bool open = true;

  // Reads what is there; false once the text passes `cap`.
  bool read_available(uint64_t cap) {
    char buffer[65536];
    const ssize_t got = read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (got <= 0) {
      open = false;
      return true;
    }
    text.append(buffer, static_cast<size_t>(got));
    return text.size() <= cap;
  }
};

// The started child, killed with its process group and reaped on every way out (exceptions
// too). Killing an ended child's group is safe: until it is reaped its zombie holds the pid,
// which is the group's id, so no other group can have it.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (!reaped_) kill_and_reap();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool has_exited() const {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }
  // Without a pid namespace, processes that left the group outlive this.
  int kill_and_reap() {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    reaped_ = true;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

 private:
  pid_t pid_;
  bool reaped_ = false;
};

// How the child ended, when neither an output cap nor the time limit ended it.
SandboxStatus status_of(const SandboxResult& result) {
  if (result.signal != 0) return result.signal == SIGXCPU ? SandboxStatus::timeout : SandboxStatus::crashed;
  if (result.exit_code == kExitPassed) return SandboxStatus::passed;
  return result.exit_code == kExitMemory ? SandboxStatus::memory : SandboxStatus::failed;
}

}  // namespace

const char* sandbox_status_name(SandboxStatus status) {
  switch (status) {
    case SandboxStatus::passed: return "passed";
    case SandboxStatus::failed: return "failed";
    case SandboxStatus::memory: return "memory";
    case SandboxStatus::timeout: return "timeout";
    case SandboxStatus::output_limit: return "output_limit";
    case SandboxStatus::crashed: return "crashed";
  }
  return "?";
}

SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits) {
  check_limits(limits);
  const sandbox::Setup& setup = sandbox::setup();
  if (!setup.problem.empty()) throw Error("sandbox: " + setup.problem);

  const sandbox::Workdir dir(setup.features, setup.identity);
  Fd program_fd(program_file(program));
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  Capture out{Fd(out_pipe[0])};
  Fd out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  Capture err{Fd(err_pipe[0])};
  Fd err_write(err_pipe[1]);

  sandbox::ChildSpec spec;
  spec.features = setup.features;
  spec.identity = setup.identity;
  spec.workdir = dir.path();
  spec.limits = limits;
  spec.seccomp = &setup.filter;
  spec.stdin_fd = program_fd.get();
  spec.stdout_fd = out_write.get();
  spec.stderr_fd = err_write.get();
  // The last argument labels the process tree (ps, and the tests' search for strays).
  spec.argv = {setup.python, "-I", "-B", "-c", kDriver, fmt::format("nanochat-sandbox-of-{}", getpid())};
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir.path().string(), "TMPDIR=" + dir.path().string(),
              "LANG=C.UTF-8", "OMP_NUM_THREADS=1"};

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits.seconds));
  std::string error;
  const pid_t pid = sandbox::start_child(spec, error);
  out_write.reset();
  err_write.reset();
  program_fd.reset();
  if (pid < 0) throw Error(fmt::format("sandbox: cannot start {}: {}", setup.python, error));
  Child child(pid);

  // Wakes the loop when the child ends; without pidfd_open (Linux < 5.3) it polls every 10 ms.
  Fd exit_fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  bool exited = false;
  bool timed_out = false;
  bool overflowed = false;
  int wait_status = 0;
  while (!overflowed && (!exited || out.open || err.open)) {
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    Capture* captures[2] = {nullptr, nullptr};
    nfds_t count = 0;
    for (Capture* capture : {&out, &err}) {
      if (!capture->open) continue;
      captures[count] = capture;
      fds[count++] = {capture->fd.get(), POLLIN, 0};
    }
    const bool watch_exit = !exited && exit_fd.get() >= 0;
    if (watch_exit) fds[count++] = {exit_fd.get(), POLLIN, 0};
    const int timeout = static_cast<int>(!exited && !watch_exit ? std::min<long long>(remaining, 10) : remaining);
    if (poll(fds, count, timeout) < 0 && errno != EINTR) throw_errno("poll");
    for (nfds_t i = 0; i < 2 && captures[i] != nullptr; ++i) {
      if (fds[i].revents != 0 && !captures[i]->read_available(limits.output_bytes)) overflowed = true;
    }
    if (!exited && child.has_exited()) {
      wait_status = child.kill_and_reap();  // what it started in its group goes with it
      exited = true;
    }
  }
  if (!exited) wait_status = child.kill_and_reap();

  SandboxResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFSIGNALED(wait_status)) result.signal = WTERMSIG(wait_status);
  if (WIFEXITED(wait_status)) result.exit_code = WEXITSTATUS(wait_status);
  result.status = overflowed ? SandboxStatus::output_limit : timed_out ? SandboxStatus::timeout : status_of(result);
  out.text.resize(std::min<size_t>(out.text.size(), limits.output_bytes));
  err.text.resize(std::min<size_t>(err.text.size(), limits.output_bytes));
  result.stdout_text = std::move(out.text);
  result.stderr_text = std::move(err.text);
  return result;
}

}  // namespace nanochat

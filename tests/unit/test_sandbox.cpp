// The Python sandbox with real children: a passing program and its output, nanochat's
// pass/fail semantics, and hostile programs (an infinite loop, a fork bomb, a 10 GB
// allocation, writes outside the temp dir, a socket to 127.0.0.1, killing the parent, a huge
// stdout). Each hostile one must end as not passed, leave no process and no file behind, and
// leave this process alive. A test that needs a protection the kernel refused fails with the
// reason the probe recorded; it is never skipped.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/sandbox.hpp"

namespace fs = std::filesystem;
using nanochat::run_python_sandboxed;
using nanochat::SandboxLimits;
using nanochat::SandboxProtection;
using nanochat::SandboxProtections;
using nanochat::SandboxResult;
using nanochat::SandboxStatus;

namespace {

// Points TMPDIR at a folder of this test process, so that "no file left behind" means this
// folder stays empty whatever other tests do in /tmp.
class PrivateTmpdir : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "test_sandbox-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    path = pattern;
    setenv("TMPDIR", path.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("TMPDIR");
    fs::remove_all(path);
  }
  static inline fs::path path;
};
const auto* const kPrivateTmpdir = ::testing::AddGlobalTestEnvironment(new PrivateTmpdir);

std::string label() { return fmt::format("nanochat-sandbox-of-{}", getpid()); }

// Processes whose command line carries this process's sandbox label.
std::vector<std::string> stray_processes() {
  std::vector<std::string> strays;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (cmdline.find(label()) != std::string::npos) strays.push_back(pid);
  }
  return strays;
}

std::vector<std::string> leftover_files() {
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(PrivateTmpdir::path)) files.push_back(entry.path());
  return files;
}

::testing::AssertionResult active(SandboxProtection SandboxProtections::*protection, const char* name) {
  const SandboxProtection& found = nanochat::sandbox_protections().*protection;
  if (found.active) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the " << name << " is unavailable here: " << found.detail;
}
#define ASSERT_PROTECTION(field) ASSERT_TRUE(active(&SandboxProtections::field, #field))

// Either protection alone suffices (the other is a fallback).
::testing::AssertionResult either(const ::testing::AssertionResult& first, const ::testing::AssertionResult& second) {
  if (first || second) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << first.message() << "; " << second.message();
}
#define ASSERT_EITHER_PROTECTION(first, second) \
  ASSERT_TRUE(either(active(&SandboxProtections::first, #first), active(&SandboxProtections::second, #second)))

// Runs a program and checks what must hold after any run: nothing left running, no file left.
SandboxResult run(const std::string& program, const SandboxLimits& limits = {}) {
  const SandboxResult result = run_python_sandboxed(program, limits);
  EXPECT_EQ(stray_processes(), std::vector<std::string>{}) << "processes left running";
  EXPECT_EQ(leftover_files(), std::vector<std::string>{}) << "files left behind";
  return result;
}

std::string describe(const SandboxResult& result) {
  return fmt::format("status {}, exit {}, signal {}, {:.2f} s, stdout '{}', stderr '{}'",
                     nanochat::sandbox_status_name(result.status), result.exit_code, result.signal, result.seconds,
                     result.stdout_text.substr(0, 300), result.stderr_text.substr(0, 600));
}

}  // namespace

TEST(Sandbox, EveryProtectionIsActive) {
  const SandboxProtections& protections = nanochat::sandbox_protections();
  std::cout << protections.summary() << "\n";
  EXPECT_EQ(protections.problem, "");
  ASSERT_PROTECTION(unprivileged_uid);
  ASSERT_PROTECTION(user_namespace);
  ASSERT_PROTECTION(pid_namespace);
  ASSERT_PROTECTION(network_namespace);
  ASSERT_PROTECTION(ipc_namespace);
  ASSERT_PROTECTION(mount_namespace);
  ASSERT_PROTECTION(seccomp_filter);
}

TEST(Sandbox, APassingProgramAndItsOutput) {
  const SandboxResult result = run("import sys\nprint('hello')\nprint('to stderr', file=sys.stderr)\n");
  EXPECT_EQ(result.status, SandboxStatus::passed) << describe(result);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_text, "hello\n");
  EXPECT_EQ(result.stderr_text, "to stderr\n");
}

TEST(Sandbox, PassesOnlyARunToTheEndAsNanochatDoes) {
  const SandboxResult failed_assert = run("assert 1 + 1 == 3, 'arithmetic'\n");
  EXPECT_EQ(failed_assert.status, SandboxStatus::failed) << describe(failed_assert);
  EXPECT_NE(failed_assert.stderr_text.find("AssertionError: arithmetic"), std::string::npos) << describe(failed_assert);
  const SandboxResult exit_zero = run("import sys\nsys.exit(0)\n");
  EXPECT_EQ(exit_zero.status, SandboxStatus::failed) << "SystemExit is an exception: " << describe(exit_zero);
  // exec() in a fresh namespace: __name__ is not "__main__".
  const SandboxResult main_block = run("if __name__ == '__main__':\n    raise ValueError('ran')\n");
  EXPECT_EQ(main_block.status, SandboxStatus::passed) << describe(main_block);
  const SandboxResult syntax = run("def broken(:\n");
  EXPECT_EQ(syntax.status, SandboxStatus::failed) << describe(syntax);
}

TEST(Sandbox, APrivateTmpIsCwdAndHomeAndWritable) {
  ASSERT_PROTECTION(mount_namespace);
  const fs::path on_host = fs::path("/tmp") / fmt::format("nanochat-sandbox-host-file-{}", getpid());
  std::ofstream(on_host) << "the host's";
  const SandboxResult result = run(fmt::format(
      "import os\n"
      "assert os.getcwd() == os.environ['HOME'] == os.environ['TMPDIR'] == '/tmp', os.getcwd()\n"
      "assert not os.path.exists('{}'), 'the host /tmp shows through'\n"
      "open('scratch.txt', 'w').write('x' * 1000)\n"
      "assert os.path.getsize('/tmp/scratch.txt') == 1000\n",
      on_host.string()));
  EXPECT_EQ(result.status, SandboxStatus::passed) << describe(result);
  EXPECT_FALSE(fs::exists("/tmp/scratch.txt"));
  fs::remove(on_host);
}

TEST(Sandbox, AFileLargerThanTheLimitFails) {
  SandboxLimits limits;
  limits.file_bytes = 1 << 20;
  const SandboxResult result = run("open('big', 'wb').write(b'x' * (2 << 20))\n", limits);
  EXPECT_EQ(result.status, SandboxStatus::failed) << describe(result);
  EXPECT_NE(result.stderr_text.find("File too large"), std::string::npos) << describe(result);
}

TEST(Sandbox, AnInfiniteLoopTimesOut) {
  SandboxLimits limits;
  limits.seconds = 1;
  const SandboxResult result = run("while True:\n    pass\n", limits);
  EXPECT_EQ(result.status, SandboxStatus::timeout) << describe(result);
  EXPECT_LT(result.seconds, 2.0) << describe(result);
}

TEST(Sandbox, AForkBombIsContained) {
  // RLIMIT_NPROC binds: the child is never root. Everything it started dies with it:
  ASSERT_PROTECTION(pid_namespace);
  SandboxLimits limits;
  limits.seconds = 3;
  const SandboxResult result = run("import os\nwhile True:\n    os.fork()\n", limits);
  EXPECT_NE(result.status, SandboxStatus::passed) << describe(result);
  EXPECT_LT(result.seconds, 4.0) << describe(result);
}

TEST(Sandbox, ATenGigabyteAllocationFails) {
  const SandboxResult result = run("data = bytearray(10 * 1024 ** 3)\nprint(len(data))\n");
  EXPECT_EQ(result.status, SandboxStatus::memory) << describe(result);
  EXPECT_NE(result.stderr_text.find("MemoryError"), std::string::npos) << describe(result);
}

TEST(Sandbox, WritingOutsideTheTempDirFails) {
  // /var/tmp and /dev/shm are open to every uid: only a read-only mount stops the writes.
  ASSERT_PROTECTION(mount_namespace);
  const std::string name = fmt::format("nanochat-sandbox-escape-{}", getpid());
  for (const fs::path& target : {fs::path("/var/tmp") / name, fs::path("/dev/shm") / name}) {
    const SandboxResult result = run(fmt::format("open('/tmp/{}', 'w').write('its own /tmp')\n"
                                                 "open('{}', 'w').write('escaped')\n",
                                                 name, target.string()));
    EXPECT_EQ(result.status, SandboxStatus::failed) << target << ": " << describe(result);
    EXPECT_NE(result.stderr_text.find("Read-only file system"), std::string::npos) << describe(result);
    EXPECT_FALSE(fs::exists(target)) << target;
    EXPECT_FALSE(fs::exists(fs::path("/tmp") / name)) << "its /tmp reached the host's";
    fs::remove(target);
  }
}

TEST(Sandbox, ASocketTo127001Fails) {
  ASSERT_EITHER_PROTECTION(network_namespace, seccomp_filter);
  // A real listener: were the program to reach it, accept() would find the connection.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  const SandboxResult result = run(fmt::format(
      "import socket\n"
      "connection = socket.create_connection(('127.0.0.1', {}), timeout=2)\n"
      "connection.sendall(b'escaped')\n",
      port));
  EXPECT_EQ(result.status, SandboxStatus::failed) << describe(result);
  EXPECT_LT(accept(listener, nullptr, nullptr), 0) << "the program reached the listener";
  close(listener);
}

TEST(Sandbox, KillingTheParentFails) {
  ASSERT_EITHER_PROTECTION(pid_namespace, unprivileged_uid);  // it cannot see the parent, or may not signal it
  const pid_t self = getpid();
  const SandboxResult result =
      run(fmt::format("import os, signal\nos.kill({}, signal.SIGKILL)\nos.killpg({}, signal.SIGKILL)\n", self,
                      getpgrp()));
  EXPECT_EQ(result.status, SandboxStatus::failed) << describe(result);
  EXPECT_EQ(getpid(), self) << "still here";
}

TEST(Sandbox, KillingTheEvaluatorKillsTheSandbox) {
  // An evaluator process running an endless program; SIGKILL it and its sandbox must go too
  // (PR_SET_PDEATHSIG on the pid namespace's init).
  ASSERT_PROTECTION(pid_namespace);
  const pid_t evaluator = fork();
  ASSERT_GE(evaluator, 0);
  if (evaluator == 0) {
    SandboxLimits limits;
    limits.seconds = 60;
    run_python_sandboxed("while True:\n    pass\n", limits);
    _exit(0);
  }
  const std::string evaluator_label = fmt::format("nanochat-sandbox-of-{}", evaluator);
  const auto running = [&] {
    for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
      std::ifstream file(entry.path() / "cmdline", std::ios::binary);
      const std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
      if (cmdline.find(evaluator_label) != std::string::npos) return true;
    }
    return false;
  };
  const auto wait_until = [](const std::function<bool()>& condition) {
    for (int i = 0; i < 500 && !condition(); ++i) usleep(10000);
    return condition();
  };
  ASSERT_TRUE(wait_until(running)) << "the sandbox never started";
  kill(evaluator, SIGKILL);
  waitpid(evaluator, nullptr, 0);
  EXPECT_TRUE(wait_until([&] { return !running(); })) << "the sandbox outlived its evaluator";
  EXPECT_EQ(leftover_files(), std::vector<std::string>{});
}

TEST(Sandbox, AHugeStdoutIsCapped) {
  SandboxLimits limits;
  limits.output_bytes = 100000;
  const SandboxResult result = run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", limits);
  EXPECT_EQ(result.status, SandboxStatus::output_limit) << describe(result);
  EXPECT_EQ(result.stdout_text.size(), limits.output_bytes);
  EXPECT_LT(result.seconds, 2.0) << describe(result);
}

TEST(Sandbox, SeesOnlyItsOwnProcesses) {
  ASSERT_PROTECTION(pid_namespace);
  ASSERT_PROTECTION(mount_namespace);  // a fresh /proc
  const SandboxResult result =
      run("import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\nassert pids == ['1'], pids\n");
  EXPECT_EQ(result.status, SandboxStatus::passed) << describe(result);
}

TEST(Sandbox, RunsFromSeveralThreadsAtOnce) {
  std::vector<std::future<SandboxResult>> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(std::async(std::launch::async, [i] {
      return run_python_sandboxed(fmt::format("print({} * {})\n", i, i));
    }));
  }
  for (int i = 0; i < 4; ++i) {
    const SandboxResult result = runs[i].get();
    EXPECT_EQ(result.status, SandboxStatus::passed) << describe(result);
    EXPECT_EQ(result.stdout_text, fmt::format("{}\n", i * i));
  }
  EXPECT_EQ(stray_processes(), std::vector<std::string>{});
  EXPECT_EQ(leftover_files(), std::vector<std::string>{});
}

TEST(Sandbox, LimitsMustBePositive) {
  SandboxLimits limits;
  limits.seconds = 0;
  EXPECT_THROW(run_python_sandboxed("pass\n", limits), nanochat::UsageError);
  limits = {};
  limits.processes = 0;
  EXPECT_THROW(run_python_sandboxed("pass\n", limits), nanochat::UsageError);
}

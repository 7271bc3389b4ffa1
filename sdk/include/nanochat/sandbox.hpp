// Running untrusted Python (a model's HumanEval completion) so that it cannot harm the host,
// even when the evaluator runs as root. The program runs in `python3` (the first one on PATH
// that the sandbox's user can execute) in a child process that, as far as this kernel allows:
//   - runs as an unprivileged uid other than the evaluator's (root drops to `nobody`; another
//     user cannot switch and stays itself, `nobody` only inside its user namespace),
//   - lives in new user, pid, network, ipc and mount namespaces: it sees only its own
//     processes, has no network at all, sees the whole filesystem read-only except a private
//     size-capped tmpfs on /tmp (over the host's) that is its cwd, HOME and TMPDIR, and
//     everything it started dies with it (a pid namespace's init taking all members along);
//     without a mount namespace a fresh temp dir is its cwd, removed afterwards,
//   - is confined by a seccomp filter (no sockets but AF_UNIX, no ptrace, mount, namespaces,
//     kernel modules, bpf, io_uring, ...), also where namespaces are not available,
//   - has rlimits on CPU time, address space, file size, open files and processes,
//   - is its own process group, killed with SIGKILL at the time limit or when the parent
//     dies (PR_SET_PDEATHSIG).
// Only stdout and stderr come back, each capped. sandbox_protections() says which of these
// this kernel allowed (probed once, with real children).
//
// Semantics as nanochat's execute_code (nanochat/execution.py at commit 10231df): the program is exec()'d in a
// fresh namespace (so `if __name__ == "__main__":` blocks do not run) and passes only when it
// runs to its end without an exception, SystemExit included. A program that calls
// os._exit(0) itself passes here (nanochat counts that as a failure).
#pragma once

#include <cstdint>
#include <string>

namespace nanochat {

// The defaults past nanochat's two fit a HumanEval check (one process, no files, little
// output) with room to spare, and bound what a hostile program can take: at most
// processes x memory_bytes of memory (8 GiB), file_bytes of disk.
struct SandboxLimits {
  double seconds = 5.0;                   // wall clock (nanochat's timeout); CPU time too, rounded up
  uint64_t memory_bytes = 256ull << 20;   // address space of each process (nanochat's 256 MB)
  uint64_t file_bytes = 16ull << 20;      // the largest file written; also the size of the private tmpfs
  uint64_t open_files = 64;               // file descriptors per process
  uint64_t processes = 32;                // processes and threads together (a fork bomb stops there)
  uint64_t output_bytes = 1ull << 20;     // stdout and stderr each; more ends the run (output_limit)
};

enum class SandboxStatus {
  passed,        // ran to the end without an exception
  failed,        // an exception (a failed assert, an error, SystemExit)
  memory,        // a MemoryError: it wanted more than memory_bytes
  timeout,       // still running at the time limit, or out of CPU time
  output_limit,  // wrote more than output_bytes to stdout or stderr
  crashed,       // ended by a signal
};
const char* sandbox_status_name(SandboxStatus status);  // "passed", "failed", ...

struct SandboxResult {
  SandboxStatus status = SandboxStatus::failed;
  int exit_code = -1;  // when the interpreter exited, else -1
  int signal = 0;      // the signal that ended it, else 0
  std::string stdout_text;  // at most output_bytes
  std::string stderr_text;  // at most output_bytes
  double seconds = 0;       // wall clock from start to the end of the run
  bool passed() const { return status == SandboxStatus::passed; }
};

// One protection: whether it is active, and what it is (active) or why not (unavailable:
// the system call that failed in the probe and its error).
struct SandboxProtection {
  bool active = false;
  std::string detail;
};

struct SandboxProtections {
  std::string python;   // the interpreter run, "" when none was found
  std::string problem;  // why run_python_sandboxed cannot run (no python3, no child starts), "" when it can
  SandboxProtection unprivileged_uid;  // a uid other than the evaluator's (so only when it is root)
  SandboxProtection user_namespace;
  SandboxProtection pid_namespace;
  SandboxProtection network_namespace;
  SandboxProtection ipc_namespace;
  SandboxProtection mount_namespace;  // read-only filesystem and a private tmpfs
  SandboxProtection seccomp_filter;
  // One line: the interpreter, the active protections and the unavailable ones with reasons.
  std::string summary() const;
};

// Probed once, on first use, by starting real children with each protection in turn
// (thread-safe). Always present: rlimits, the time limit, the process group, the output caps.
const SandboxProtections& sandbox_protections();

// Runs `program` (Python source) and waits for it. Safe to call from several threads at
// once. Throws UsageError on limits that are not positive, Error when no python3 can be run
// or the child cannot be started (which the probe rules out for the protections it chose).
SandboxResult run_python_sandboxed(const std::string& program, const SandboxLimits& limits = {});

}  // namespace nanochat

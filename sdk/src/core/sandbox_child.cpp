// The sandbox's child process (see sandbox_child.hpp): the parent prepares every string,
// array and filter, clones the child into its namespaces and writes its uid/gid maps; the
// child then confines itself step by step with raw system calls and executes python3.
#include "sandbox_child.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace nanochat::sandbox {
namespace {

enum class Step : int {
  parent_death_signal,
  mount_private,
  mount_read_only,
  mount_tmpfs,
  mount_proc,
  change_directory,
  standard_streams,
  resource_limit,
  set_groups,
  set_gid,
  set_uid,
  no_new_privileges,
  seccomp_filter,
  execute,
};

const char* step_name(Step step) {
  switch (step) {
    case Step::parent_death_signal: return "prctl(PR_SET_PDEATHSIG)";
    case Step::mount_private: return "mount / private";
    case Step::mount_read_only: return "mount_setattr / read-only";
    case Step::mount_tmpfs: return "mount tmpfs";
    case Step::mount_proc: return "mount proc";
    case Step::change_directory: return "chdir to the temp dir";
    case Step::standard_streams: return "dup2 standard streams";
    case Step::resource_limit: return "setrlimit";
    case Step::set_groups: return "setgroups";
    case Step::set_gid: return "setresgid";
    case Step::set_uid: return "setresuid";
    case Step::no_new_privileges: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case Step::seccomp_filter: return "seccomp";
    case Step::execute: return "execve";
  }
  return "?";
}

struct Failure {
  Step step;
  int error;
};

struct Limit {
  int resource;
  rlimit value;
};

// What the child reads after the clone, all allocated before it.
struct Prepared {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string tmpfs_options;
  std::vector<Limit> limits;
  sock_fprog filter{};
  int max_fd = 0;         // the highest descriptor that may be open (close_range needs Linux 5.11)
  int status_write = -1;  // close-on-exec: EOF tells the parent the exec (or the probe) succeeded
  int status_read = -1;
  int sync_read = -1;     // (a socket pair, which cannot raise SIGPIPE) the parent sends one
  int sync_write = -1;    // byte once the child's uid/gid maps are in place
};

Prepared prepare(const ChildSpec& spec) {
  Prepared prepared;
  for (const std::string& arg : spec.argv) prepared.argv.push_back(const_cast<char*>(arg.c_str()));
  prepared.argv.push_back(nullptr);
  for (const std::string& entry : spec.env) prepared.envp.push_back(const_cast<char*>(entry.c_str()));
  prepared.envp.push_back(nullptr);
  // nr_inodes: an empty file costs kernel memory that the size cap does not count.
  prepared.tmpfs_options = fmt::format("size={},nr_inodes=4096,mode=0700,uid={},gid={}", spec.limits.file_bytes,
                                       spec.identity.uid, spec.identity.gid);
  const rlim_t cpu_seconds = static_cast<rlim_t>(std::ceil(spec.limits.seconds));
  prepared.limits = {
      {RLIMIT_CPU, {cpu_seconds, cpu_seconds + 1}},  // SIGXCPU, then SIGKILL a second later
      {RLIMIT_AS, {spec.limits.memory_bytes, spec.limits.memory_bytes}},
      {RLIMIT_FSIZE, {spec.limits.file_bytes, spec.limits.file_bytes}},
      {RLIMIT_NOFILE, {spec.limits.open_files, spec.limits.open_files}},
      {RLIMIT_NPROC, {spec.limits.processes, spec.limits.processes}},
      {RLIMIT_CORE, {0, 0}},
  };
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  prepared.max_fd = static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20));
  if (spec.seccomp != nullptr) {
    prepared.filter.len = static_cast<unsigned short>(spec.seccomp->size());
    prepared.filter.filter = const_cast<sock_filter*>(spec.seccomp->data());
  }
  return prepared;
}

[[noreturn]] void fail(const Prepared& prepared, Step step) {
  const Failure failure{step, errno};
  (void)!write(prepared.status_write, &failure, sizeof failure);
  _exit(127);
}

// The child, after the clone: only system calls from here on.
[[noreturn]] void confine_and_execute(const ChildSpec& spec, const Prepared& prepared) {
  close(prepared.status_read);
  close(prepared.sync_write);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(prepared, Step::parent_death_signal);
  if (spec.features.user_namespace) {
    char byte = 0;
    if (read(prepared.sync_read, &byte, 1) != 1) _exit(127);  // the parent could not write the maps; it says why
  }
  close(prepared.sync_read);
  setpgid(0, 0);  // the parent does it too; whichever comes first

  const char* workdir = spec.workdir.c_str();
  if (spec.features.mount_namespace) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(prepared, Step::mount_private);
    mount_attr attributes{};
    attributes.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attributes, sizeof attributes) != 0) {
      fail(prepared, Step::mount_read_only);
    }
    if (mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, prepared.tmpfs_options.c_str()) != 0) {
      fail(prepared, Step::mount_tmpfs);
    }
    if (spec.features.pid_namespace &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr) != 0) {
      fail(prepared, Step::mount_proc);
    }
  }
  // Before dropping the uid: the temp dir's parents need not be open to `nobody`.
  if (chdir(workdir) != 0) fail(prepared, Step::change_directory);

  if (spec.stdin_fd >= 0) {
    // Lifted above 2 first, so that no dup2 overwrites a stream still to be moved.
    const int streams[3] = {fcntl(spec.stdin_fd, F_DUPFD_CLOEXEC, 3), fcntl(spec.stdout_fd, F_DUPFD_CLOEXEC, 3),
                            fcntl(spec.stderr_fd, F_DUPFD_CLOEXEC, 3)};
    for (int target = 0; target < 3; ++target) {
      if (streams[target] < 0 || dup2(streams[target], target) != target) fail(prepared, Step::standard_streams);
    }
  }
  // Every other descriptor (the parent's files, other threads' pipes) closes at the exec.
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < prepared.max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  for (const Limit& limit : prepared.limits) {
    if (setrlimit(limit.resource, &limit.value) != 0) fail(prepared, Step::resource_limit);
  }
  // Raw system calls: glibc's wrappers would signal the parent's other threads (to change
  // their ids too), which do not exist in this child, and wait for them forever.
  const Identity& identity = spec.identity;
  if (identity.clear_groups && syscall(SYS_setgroups, 0, nullptr) != 0) fail(prepared, Step::set_groups);
  if (identity.change_ids) {
    if (syscall(SYS_setresgid, identity.gid, identity.gid, identity.gid) != 0) fail(prepared, Step::set_gid);
    if (syscall(SYS_setresuid, identity.uid, identity.uid, identity.uid) != 0) fail(prepared, Step::set_uid);
  }
  // A uid change clears the parent-death signal; set it again, then make sure the parent did
  // not die in between (the status pipe has no reader left if it did).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(prepared, Step::parent_death_signal);
  pollfd parent_alive{prepared.status_write, POLLOUT, 0};
  if (poll(&parent_alive, 1, 0) != 1 || (parent_alive.revents & POLLERR) != 0) _exit(127);

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(prepared, Step::no_new_privileges);
  if (spec.features.seccomp_filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prepared.filter) != 0) {
    fail(prepared, Step::seccomp_filter);
  }
  if (spec.argv.empty()) _exit(0);  // a probe: every step passed
  execve(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
  fail(prepared, Step::execute);
}

unsigned long clone_flags(const Features& features) {
  unsigned long flags = SIGCHLD;
  if (features.user_namespace) flags |= CLONE_NEWUSER;
  if (features.pid_namespace) flags |= CLONE_NEWPID;
  if (features.network_namespace) flags |= CLONE_NEWNET;
  if (features.ipc_namespace) flags |= CLONE_NEWIPC;
  if (features.mount_namespace) flags |= CLONE_NEWNS;
  return flags;
}

std::string errno_text(const char* what, int error) { return fmt::format("{}: {}", what, std::strerror(error)); }

// Writes a /proc/PID/ file; "" or the error.
std::string write_proc_file(pid_t pid, const char* name, const std::string& text) {
  const std::string path = fmt::format("/proc/{}/{}", pid, name);
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_text(name, errno);
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int error = errno;
  close(fd);
  return written ? "" : errno_text(name, error);
}

// The child's uid and gid inside its user namespace map to identity.host_uid/host_gid. A
// non-root writer must deny setgroups before it may write gid_map.
std::string write_id_maps(pid_t pid, const Identity& identity) {
  std::string error;
  if (geteuid() != 0) error = write_proc_file(pid, "setgroups", "deny");
  if (error.empty()) error = write_proc_file(pid, "uid_map", fmt::format("{} {} 1\n", identity.uid, identity.host_uid));
  if (error.empty()) error = write_proc_file(pid, "gid_map", fmt::format("{} {} 1\n", identity.gid, identity.host_gid));
  return error;
}

void reap(pid_t pid) {
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

pid_t start_child(const ChildSpec& spec, std::string& error) {
  Prepared prepared = prepare(spec);
  error.clear();
  int status_pipe[2];
  int sync_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    error = errno_text("pipe2", errno);
    return -1;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_pipe) != 0) {
    error = errno_text("socketpair", errno);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return -1;
  }
  prepared.status_read = status_pipe[0];
  prepared.status_write = status_pipe[1];
  prepared.sync_read = sync_pipe[0];
  prepared.sync_write = sync_pipe[1];

  // A raw clone behaves as fork (the child continues on a copy of this stack) and, unlike
  // glibc's clone(), takes the namespace flags without a separate stack.
  const pid_t pid = static_cast<pid_t>(syscall(SYS_clone, clone_flags(spec.features), nullptr, nullptr, nullptr, 0));
  if (pid == 0) confine_and_execute(spec, prepared);
  const int clone_error = errno;
  close(prepared.status_write);
  close(prepared.sync_read);
  if (pid < 0) {
    close(prepared.status_read);
    close(prepared.sync_write);
    error = errno_text("clone", clone_error);
    return -1;
  }
  setpgid(pid, pid);
  if (spec.features.user_namespace) error = write_id_maps(pid, spec.identity);
  if (error.empty() && spec.features.user_namespace && send(prepared.sync_write, "x", 1, MSG_NOSIGNAL) != 1) {
    error = errno_text("send", errno);
  }
  close(prepared.sync_write);
  if (!error.empty()) {
    kill(pid, SIGKILL);
    close(prepared.status_read);
    reap(pid);
    return -1;
  }
  Failure failure{};
  ssize_t got = 0;
  do {
    got = read(prepared.status_read, &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  close(prepared.status_read);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    reap(pid);
    error = errno_text(step_name(failure.step), failure.error);
    return -1;
  }
  return pid;
}

}  // namespace nanochat::sandbox

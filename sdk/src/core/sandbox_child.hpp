// Starting the sandbox's child process (internal to libnanochat_core): everything is prepared
// in the parent, then the child is cloned into its namespaces and, making only system calls
// (the parent may have other threads, so no allocation after the clone), mounts, limits, drops
// its uid, installs the seccomp filter and executes python3. A failing step is reported back
// through a close-on-exec pipe as "step: error", so the probe and a run name what the kernel
// refused.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nanochat/sandbox.hpp"

namespace nanochat::sandbox {

// The optional protections, as the probe found them.
struct Features {
  bool user_namespace = false;
  bool pid_namespace = false;
  bool network_namespace = false;
  bool ipc_namespace = false;
  bool mount_namespace = false;
  bool seccomp_filter = false;
};

// Who the child becomes. Root drops to `nobody` on the host; another user in a user
// namespace becomes `nobody` there (still itself on the host); otherwise it stays itself.
struct Identity {
  bool change_ids = false;    // setresgid/setresuid to uid/gid
  bool clear_groups = false;  // setgroups(0): only root may (a user namespace of a non-root user denies it)
  uid_t uid = 0;              // inside the user namespace, if any
  gid_t gid = 0;
  uid_t host_uid = 0;         // what uid is on the host (the user namespace maps uid to it)
  gid_t host_gid = 0;
};

struct ChildSpec {
  Features features;
  Identity identity;
  std::filesystem::path workdir;  // cwd, HOME and TMPDIR; with a mount namespace the private tmpfs goes on it
  SandboxLimits limits;
  const std::vector<sock_filter>* seccomp = nullptr;  // the filter, when features.seccomp_filter
  int stdin_fd = -1;                                   // the child's standard streams (-1: none, as in a probe)
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<std::string> argv;  // empty: a probe, which stops where it would execute and exits 0
  std::vector<std::string> env;   // "NAME=value"
};

// Clones the child and waits until it has executed python3 (or, a probe, passed every step).
// Returns its pid, or -1 with `error` set ("mount tmpfs: Operation not permitted") after
// reaping it.
pid_t start_child(const ChildSpec& spec, std::string& error);

}  // namespace nanochat::sandbox

// The sandbox's seccomp-BPF filter (internal to libnanochat_core), built from
// linux/seccomp.h and linux/filter.h without libseccomp.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace nanochat::sandbox {

// The filter for this build's architecture (x86_64 or aarch64), or an empty one elsewhere
// (then the sandbox reports the filter as unavailable). It allows everything except:
//   - socket() other than AF_UNIX (EAFNOSUPPORT): no network even without a network namespace;
//   - clone() with namespace flags, unshare, setns (EPERM); clone3 (ENOSYS, so that glibc
//     falls back to clone, whose flags the filter can read);
//   - ioctl(TIOCSTI) (EPERM): typing into a terminal;
//   - ptrace and process_vm_*, mount and the new mount API, chroot and pivot_root, kernel
//     modules, kexec, reboot, swap, bpf, perf events, userfaultfd, io_uring (whose requests a
//     filter cannot see), keyrings, clock and hostname changes, file handles, syslog (EPERM);
//   - a system call of another ABI (i386, x32): the process is killed.
std::vector<sock_filter> seccomp_filter();

}  // namespace nanochat::sandbox

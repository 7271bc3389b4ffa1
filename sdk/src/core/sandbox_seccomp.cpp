// The sandbox's seccomp-BPF filter (see sandbox_seccomp.hpp). The program is a flat list:
// check the architecture, load the system call number, then one small block per rule,
// each ending in a return, so no jump is longer than a few instructions.
#include "sandbox_seccomp.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace nanochat::sandbox {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kArchitecture = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArchitecture = AUDIT_ARCH_AARCH64;
#else
constexpr uint32_t kArchitecture = 0;  // no filter
#endif

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "argument offsets below are for little-endian machines");
constexpr uint32_t kNumberOffset = offsetof(seccomp_data, nr);
constexpr uint32_t kArchitectureOffset = offsetof(seccomp_data, arch);
// The low 32 bits of argument i.
constexpr uint32_t argument_offset(int i) { return offsetof(seccomp_data, args) + 8 * i; }

constexpr uint32_t kNamespaceFlags =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

// System calls refused with EPERM.
constexpr long kDenied[] = {
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_pidfd_getfd, __NR_kcmp,
    __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
    __NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick, __NR_mount_setattr,
    __NR_init_module, __NR_finit_module, __NR_delete_module, __NR_kexec_load, __NR_kexec_file_load,
    __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct, __NR_quotactl,
    __NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_fanotify_init,
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
    __NR_keyctl, __NR_add_key, __NR_request_key,
    __NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex, __NR_sethostname, __NR_setdomainname,
    __NR_open_by_handle_at, __NR_name_to_handle_at, __NR_lookup_dcookie, __NR_syslog, __NR_vhangup,
#if defined(__x86_64__)
    __NR_iopl, __NR_ioperm, __NR_uselib,
#endif
};

sock_filter statement(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t if_true, uint8_t if_false) {
  return BPF_JUMP(code, k, if_true, if_false);
}
sock_filter load(uint32_t offset) { return statement(BPF_LD | BPF_W | BPF_ABS, offset); }
sock_filter give(uint32_t action) { return statement(BPF_RET | BPF_K, action); }
sock_filter refuse(int error) { return give(SECCOMP_RET_ERRNO | (static_cast<uint32_t>(error) & SECCOMP_RET_DATA)); }

}  // namespace

std::vector<sock_filter> seccomp_filter() {
  if (kArchitecture == 0) return {};
  std::vector<sock_filter> program = {
      load(kArchitectureOffset),
      jump(BPF_JMP | BPF_JEQ | BPF_K, kArchitecture, 1, 0),
      give(SECCOMP_RET_KILL_PROCESS),
      load(kNumberOffset),
  };
#if defined(__x86_64__)
  program.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 1));
  program.push_back(give(SECCOMP_RET_KILL_PROCESS));
#endif
  for (const long number : kDenied) {
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(number), 0, 1));
    program.push_back(refuse(EPERM));
  }
  // Each block below: "not this call: skip the block", then it loads an argument, so it
  // must end in a return on every path.
  program.insert(program.end(), {
      jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4),
      load(argument_offset(0)),
      jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
      give(SECCOMP_RET_ALLOW),
      refuse(EAFNOSUPPORT),

      jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
      load(argument_offset(0)),
      jump(BPF_JMP | BPF_JSET | BPF_K, kNamespaceFlags, 0, 1),
      refuse(EPERM),
      give(SECCOMP_RET_ALLOW),

      jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4),
      load(argument_offset(1)),
      jump(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 0, 1),
      refuse(EPERM),
      give(SECCOMP_RET_ALLOW),

      jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
      refuse(ENOSYS),
      give(SECCOMP_RET_ALLOW),
  });
  return program;
}

}  // namespace nanochat::sandbox

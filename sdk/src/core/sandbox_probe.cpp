// Finding what the sandbox can use here, once: a probe child per protection (user, pid,
// network, ipc and mount namespaces, then the seccomp filter), each adding one to those that
// passed, goes through every step a real run takes and exits where it would start python3;
// what the kernel refuses is recorded with the failing call. Then the python3 to run: the
// first on PATH that the child's uid can execute (a python under a private home, such as
// root's pyenv, is passed over for one that `nobody` can run).
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nanochat/error.hpp"
#include "sandbox_seccomp.hpp"
#include "sandbox_setup.hpp"

namespace fs = std::filesystem;

namespace nanochat::sandbox {
namespace {

constexpr uid_t kNobody = 65534;  // Debian's nobody/nogroup, and the overflow id of user namespaces

// Root drops to `nobody`; another user becomes `nobody` inside its user namespace, if any.
Identity identity_for(const Features& features) {
  Identity identity;
  if (geteuid() == 0) {
    const passwd* nobody = getpwnam("nobody");
    identity.uid = identity.host_uid = nobody != nullptr ? nobody->pw_uid : kNobody;
    identity.gid = identity.host_gid = nobody != nullptr ? nobody->pw_gid : kNobody;
    identity.change_ids = identity.clear_groups = true;
  } else if (features.user_namespace) {
    identity.uid = identity.gid = kNobody;
    identity.host_uid = geteuid();
    identity.host_gid = getegid();
    identity.change_ids = true;
  } else {
    identity.uid = identity.host_uid = geteuid();
    identity.gid = identity.host_gid = getegid();
  }
  return identity;
}

// "" when a child with these features passes every step, else why not.
std::string probe(const Features& features, const std::vector<sock_filter>& filter) {
  const Identity identity = identity_for(features);
  const Workdir dir(features, identity);
  ChildSpec spec;
  spec.features = features;
  spec.identity = identity;
  spec.workdir = dir.path();
  spec.seccomp = &filter;
  std::string error;
  const pid_t pid = start_child(spec, error);
  if (pid < 0) return error;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return WIFSIGNALED(status) ? fmt::format("the probe child died of signal {}", WTERMSIG(status))
                             : fmt::format("the probe child exited with {}", WEXITSTATUS(status));
}

bool may_execute(const struct stat& info, uid_t uid, gid_t gid) {
  if (info.st_uid == uid) return (info.st_mode & S_IXUSR) != 0;
  if (info.st_gid == gid) return (info.st_mode & S_IXGRP) != 0;
  return (info.st_mode & S_IXOTH) != 0;
}

// Whether uid (with gid and no other groups) may search every folder above `path` and
// execute it, by the mode bits.
bool executable_by(const fs::path& path, uid_t uid, gid_t gid) {
  struct stat info {};
  for (fs::path folder = path.parent_path();; folder = folder.parent_path()) {
    if (stat(folder.c_str(), &info) != 0 || !may_execute(info, uid, gid)) return false;
    if (folder == folder.root_path()) break;
  }
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && may_execute(info, uid, gid);
}

// The first python3 on PATH that the child can execute, checked along the path as written
// (which is run, so that a virtual environment stays one) and along its resolved target.
std::string find_python(const Identity& identity, std::string& problem) {
  const char* path_variable = std::getenv("PATH");
  const std::string search = path_variable != nullptr ? path_variable : "/usr/local/bin:/usr/bin:/bin";
  std::vector<std::string> passed_over;
  for (size_t begin = 0; begin <= search.size();) {
    const size_t end = std::min(search.find(':', begin), search.size());
    const fs::path folder = search.substr(begin, end - begin);
    begin = end + 1;
    if (!folder.is_absolute()) continue;  // "" and relative entries would depend on the cwd
    const fs::path candidate = folder / "python3";
    std::error_code error;
    const fs::path target = fs::canonical(candidate, error);
    if (error) continue;
    const bool usable = identity.host_uid == geteuid()
                            ? faccessat(AT_FDCWD, candidate.c_str(), X_OK, AT_EACCESS) == 0
                            : executable_by(candidate, identity.host_uid, identity.host_gid) &&
                                  executable_by(target, identity.host_uid, identity.host_gid);
    if (usable) return candidate.string();
    passed_over.push_back(candidate.string());
  }
  problem = fmt::format("no python3 on PATH that uid {} can execute (PATH={}{}{}); install python3 "
                        "(apt-get install python3) or put one that uid can run on PATH",
                        identity.host_uid, search, passed_over.empty() ? "" : "; passed over: ",
                        fmt::join(passed_over, ", "));
  return "";
}

struct OptionalProtection {
  bool Features::*feature;
  SandboxProtection SandboxProtections::*protection;
  const char* what;
};

Setup detect() {
  Setup setup;
  setup.filter = seccomp_filter();
  SandboxProtections& protections = setup.protections;
  const std::string base = probe(setup.features, setup.filter);
  if (!base.empty()) setup.problem = "a child with rlimits and its own uid cannot start: " + base;

  const OptionalProtection optionals[] = {
      {&Features::user_namespace, &SandboxProtections::user_namespace, "new user namespace"},
      {&Features::pid_namespace, &SandboxProtections::pid_namespace,
       "new pid namespace (sees only its own processes; all die with it)"},
      {&Features::network_namespace, &SandboxProtections::network_namespace, "new network namespace (no network)"},
      {&Features::ipc_namespace, &SandboxProtections::ipc_namespace, "new ipc namespace"},
      {&Features::mount_namespace, &SandboxProtections::mount_namespace,
       "new mount namespace (read-only filesystem; a private tmpfs on /tmp as cwd, HOME and TMPDIR)"},
      {&Features::seccomp_filter, &SandboxProtections::seccomp_filter,
       "seccomp filter (no sockets but AF_UNIX, no ptrace, mount, namespaces, bpf, io_uring, ...)"},
  };
  for (const OptionalProtection& optional : optionals) {
    Features trial = setup.features;
    trial.*optional.feature = true;
    std::string why_not;
    if (optional.feature == &Features::seccomp_filter && setup.filter.empty()) {
      why_not = "no filter for this architecture";
    } else if (!base.empty()) {
      why_not = "no child starts at all";
    } else {
      why_not = probe(trial, setup.filter);
    }
    SandboxProtection& protection = protections.*optional.protection;
    protection.active = why_not.empty();
    protection.detail = protection.active ? optional.what : why_not;
    if (protection.active) setup.features = trial;
  }
  setup.identity = identity_for(setup.features);
  const Identity& identity = setup.identity;
  // Only another uid keeps the child from signalling the evaluator and from writing its
  // files; a non-root evaluator's child is never root either (RLIMIT_NPROC binds it).
  protections.unprivileged_uid.active = identity.host_uid != geteuid();
  protections.unprivileged_uid.detail =
      protections.unprivileged_uid.active
          ? fmt::format("uid {} (nobody)", identity.host_uid)
          : fmt::format("runs as uid {}, the evaluator's own{}: only root can switch to another", identity.host_uid,
                        identity.change_ids ? " (nobody inside its user namespace)" : "");

  std::string python_problem;
  setup.python = find_python(identity, python_problem);
  if (setup.problem.empty()) setup.problem = python_problem;
  protections.python = setup.python;
  protections.problem = setup.problem;
  return setup;
}

}  // namespace

const Setup& setup() {
  static const Setup detected = detect();
  return detected;
}

Workdir::Workdir(const Features& features, const Identity& identity) {
  if (features.mount_namespace) {
    path_ = "/tmp";
    return;
  }
  std::string pattern = (fs::temp_directory_path() / "nanochat-sandbox-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw Error(fmt::format("cannot create a sandbox folder {}: {}", pattern, std::strerror(errno)));
  }
  path_ = pattern;
  on_host_ = true;
  if (identity.host_uid != geteuid() && chown(path_.c_str(), identity.host_uid, identity.host_gid) != 0) {
    const int error = errno;
    std::error_code ignored;
    fs::remove(path_, ignored);
    throw Error(fmt::format("cannot give the sandbox folder {} to uid {}: {}", path_.string(), identity.host_uid,
                            std::strerror(error)));
  }
}

Workdir::~Workdir() {
  std::error_code ignored;
  if (on_host_) fs::remove_all(path_, ignored);
}

}  // namespace nanochat::sandbox

namespace nanochat {

const SandboxProtections& sandbox_protections() { return sandbox::setup().protections; }

std::string SandboxProtections::summary() const {
  std::vector<std::string> active;
  std::vector<std::string> unavailable;
  const std::pair<const char*, const SandboxProtection*> all[] = {
      {"unprivileged uid", &unprivileged_uid}, {"user namespace", &user_namespace},
      {"pid namespace", &pid_namespace},       {"network namespace", &network_namespace},
      {"ipc namespace", &ipc_namespace},       {"mount namespace", &mount_namespace},
      {"seccomp filter", &seccomp_filter}};
  for (const auto& [name, protection] : all) {
    if (protection->active) {
      active.push_back(protection->detail);
    } else {
      unavailable.push_back(fmt::format("{} ({})", name, protection->detail));
    }
  }
  active.push_back("rlimits (cpu, address space, file size, open files, processes)");
  active.push_back("its own process group killed at the time limit and when the parent dies");
  return fmt::format("sandbox: {}; {}; unavailable: {}", problem.empty() ? python : problem, fmt::join(active, ", "),
                     unavailable.empty() ? std::string("none") : fmt::format("{}", fmt::join(unavailable, ", ")));
}

}  // namespace nanochat

// Crash-safe file and folder writes: temp beside the target, fsync, rename, fsync the
// parent. A crash at any point leaves the old target (plus at worst a stale temp).
#include "nanochat/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>  // RENAME_EXCHANGE
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/log.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

[[noreturn]] void throw_errno(const std::string& what, const fs::path& path, int err) {
  throw Error(fmt::format("{} '{}': {}", what, path.string(), std::strerror(err)));
}

fs::path parent_of(const fs::path& target) {
  fs::path parent = target.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// Dot-prefixed so directory listings and globs skip it; pid and random part so concurrent
// writers (threads or processes) never share a temp name.
fs::path temp_name_for(const fs::path& target) {
  std::random_device device;
  uint64_t random = (uint64_t{device()} << 32) | device();
  return parent_of(target) /
         fmt::format(".{}.tmp.{}.{:016x}", target.filename().string(), ::getpid(), random);
}

void close_fd(int fd, const fs::path& path) {
  // Linux releases the descriptor even when close() fails, so never retry it.
  if (::close(fd) != 0 && errno != EINTR) throw_errno("cannot close", path, errno);
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open for fsync", path, errno);
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw_errno("fsync failed for", path, err);
  }
  close_fd(fd, path);
}

// New entries in subfolders are only durable once each subfolder is fsynced too.
void fsync_tree(const fs::path& root) {
  try {
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      fs::file_status status = entry.symlink_status();
      if (fs::is_regular_file(status)) {
        fsync_path(entry.path(), 0);
      } else if (fs::is_directory(status)) {
        fsync_path(entry.path(), O_DIRECTORY);
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(fmt::format("cannot list '{}': {}", root.string(), e.what()));
  }
  fsync_path(root, O_DIRECTORY);
}

fs::path make_temp_dir(const fs::path& target) {
  // A collision on a 64-bit random name means a leftover from a crashed process with a
  // recycled pid; a few retries are plenty.
  for (int attempt = 0; attempt < 8; ++attempt) {
    fs::path temp = temp_name_for(target);
    if (::mkdir(temp.c_str(), 0777) == 0) return temp;
    if (errno != EEXIST) throw_errno("cannot create temp folder", temp, errno);
  }
  throw Error(fmt::format("cannot create a temp folder beside '{}': names keep colliding",
                          target.string()));
}

void remove_tree_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) log::warn("could not remove '{}': {}", path.string(), ec.message());
}

bool exchange_unsupported(int err) { return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP; }

// Puts `temp` in place of `target` and returns where the old target now lives. Without
// RENAME_EXCHANGE (some network and overlay filesystems) the old one is moved aside first,
// which leaves a short window where `target` is absent but never half-written.
fs::path swap_into_place(const fs::path& temp, const fs::path& target) {
  if (::syscall(SYS_renameat2, AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(),
                RENAME_EXCHANGE) == 0) {
    return temp;
  }
  int err = errno;
  if (!exchange_unsupported(err)) throw_errno("cannot replace", target, err);
  fs::path aside = temp_name_for(target);
  if (::rename(target.c_str(), aside.c_str()) != 0) throw_errno("cannot move aside", target, errno);
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    err = errno;
    ::rename(aside.c_str(), target.c_str());
    throw_errno("cannot replace", target, err);
  }
  return aside;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const fs::path& target) : target_(target) {
  for (int attempt = 0; attempt < 8 && fd_ < 0; ++attempt) {
    temp_path_ = temp_name_for(target_);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) throw_errno("cannot create temp file", temp_path_, errno);
  }
  if (fd_ < 0) {
    throw Error(fmt::format("cannot create a temp file beside '{}': names keep colliding",
                            target_.string()));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (fd_ < 0) throw Error(fmt::format("write to '{}' after commit", target_.string()));
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", temp_path_, errno);
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw Error(fmt::format("'{}' committed twice", target_.string()));
  if (::fsync(fd_) != 0) throw_errno("fsync failed for", temp_path_, errno);
  int fd = fd_;
  fd_ = -1;
  close_fd(fd, temp_path_);
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    throw_errno("cannot rename temp file onto", target_, errno);
  }
  committed_ = true;
  fsync_dir(parent_of(target_));
}

void atomic_write_file(const fs::path& target, std::string_view contents) {
  AtomicFileWriter writer(target);
  writer.write(contents);
  writer.commit();
}

void atomic_write_dir(const fs::path& target,
                      const std::function<void(const fs::path& temp_dir)>& fill) {
  fs::path temp = make_temp_dir(target);
  fs::path old_copy;
  try {
    fill(temp);
    fsync_tree(temp);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(target, ec))) {
      old_copy = swap_into_place(temp, target);
    } else if (::rename(temp.c_str(), target.c_str()) != 0) {
      throw_errno("cannot rename temp folder onto", target, errno);
    }
  } catch (...) {
    remove_tree_quietly(temp);
    throw;
  }
  fsync_dir(parent_of(target));
  // The new version is already durable, so failing to delete the old copy only costs
  // disk space.
  if (!old_copy.empty()) remove_tree_quietly(old_copy);
}

void fsync_dir(const fs::path& dir) { fsync_path(dir, O_DIRECTORY); }

void remove_abandoned_temps(const fs::path& dir) {
  // The names temp_name_for() gives: .<target>.tmp.<pid>.<16 hex digits>
  static const std::regex temp_name(R"(\..+\.tmp\.([0-9]{1,9})\.[0-9a-f]{16})");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, temp_name) || !entry.is_regular_file(ec)) continue;
    const pid_t pid = static_cast<pid_t>(std::stoll(match[1].str()));
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // running, or not ours to judge
    fs::remove(entry.path(), ec);
    if (ec) log::warn("could not remove '{}': {}", entry.path().string(), ec.message());
  }
}

}  // namespace nanochat

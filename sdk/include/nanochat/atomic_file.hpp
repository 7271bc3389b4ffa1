// Crash-safe writes: content goes to a temp file (or folder) beside the target, is
// fsynced, then renamed over the target and the parent folder is fsynced. A reader sees
// the old version or the new one, never half of either.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>

namespace nanochat {

// Streams bytes into a temp file; commit() publishes it, destruction without commit()
// removes the temp file and leaves the target untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::filesystem::path& target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();

  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes the whole file at once.
void atomic_write_file(const std::filesystem::path& target, std::string_view contents);

// Builds a folder atomically: `fill` writes into an empty temp folder beside `target`;
// then every file is fsynced and the folder replaces `target` in one rename (an existing
// `target` is swapped out with renameat2(RENAME_EXCHANGE) and removed afterwards).
void atomic_write_dir(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& temp_dir)>& fill);

// fsync of a folder, so a rename inside it is durable.
void fsync_dir(const std::filesystem::path& dir);

// Removes the temp files in `dir` that AtomicFileWriters of processes no longer running left
// behind (killed before commit, e.g. by Ctrl-C during a download); those of running processes
// stay. Process ids are this machine's: call it only on folders that one machine writes to.
void remove_abandoned_temps(const std::filesystem::path& dir);

}  // namespace nanochat

// Choices measured once per machine — the CPU's matmul peak per dtype and thread count, and
// later kernel and Newton–Schulz dtype choices — kept in ONE JSON cache file, so a run does
// not spend seconds re-measuring what the last run on this machine already knew.
//
// The file: $NANOCHAT_MACHINE_CACHE when set (NANOCHAT_MACHINE_CACHE=off: measure every
// time, write nothing), else $XDG_CACHE_HOME/nanochat-cpp/machine.json, else
// ~/.cache/nanochat-cpp/machine.json. It holds one record per machine key (CPU model + CPU
// flags + LibTorch version + nanochat version, so a home folder shared by several machines
// keeps each one's record); a newer build on the same CPU replaces the older record:
//   {"version": 1,
//    "machines": {"<key id>": {"cpu": "...", "cpu_flags_xxh64": "...", "libtorch": "2.11.0",
//                              "nanochat": "0.1.0",
//                              "entries": {"matmul_flops/cpu/fp32/threads2":
//                                            {"value": 9.1e10, "seconds": 0.31, "measured_at": "..."}}}}}
// A value can be pinned by editing its "value" by hand; deleting an entry (or the file)
// makes the next run measure it again. Writes are atomic (atomic_file.hpp) and a lock file
// beside it makes concurrent processes (ranks on one machine) measure once, one at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace nanochat {

struct MachineKey {
  std::string cpu_model;
  std::string cpu_flags;  // space-separated, sorted
  std::string libtorch;
  std::string nanochat;

  // 16 hex digits identifying all four fields.
  std::string id() const;
  // This machine and this build.
  static MachineKey this_machine();
};

// The cache file the environment chooses (see above); empty for NANOCHAT_MACHINE_CACHE=off.
std::filesystem::path machine_cache_path();

class MachineFacts {
 public:
  // `file` empty: nothing is cached, every get_or_measure measures.
  MachineFacts(std::filesystem::path file, MachineKey key);

  // This machine, with the file from the environment (read when first used).
  static MachineFacts& instance();

  // The value named `name` ("what/device/dtype/condition"): the cached one when this machine's
  // record has it, else measure()'s result, written to the file before it is returned. A
  // corrupt file is replaced (with a warning); an unwritable one is warned about once and the
  // value is still returned. `measure` may itself ask for other values. A cached value that
  // `usable` rejects (a peak below a rate just observed: it was measured on a busy machine)
  // is measured again and replaced.
  nlohmann::json get_or_measure(const std::string& name, const std::function<nlohmann::json()>& measure,
                                const std::function<bool(const nlohmann::json&)>& usable = nullptr);

  const std::filesystem::path& file() const { return file_; }

 private:
  nlohmann::json load() const;
  void store(nlohmann::json cache, const std::string& name, const nlohmann::json& entry);

  std::filesystem::path file_;
  MachineKey key_;
  std::recursive_mutex mutex_;
  int lock_fd_ = -1;     // the cross-process lock, held while depth_ > 0
  int depth_ = 0;        // nested get_or_measure calls in this process
  bool warned_unwritable_ = false;
};

}  // namespace nanochat

// The per-machine cache of measured choices (format and rules in machine_facts.hpp).
#include "nanochat/machine_facts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "nanochat/atomic_file.hpp"
#include "nanochat/build_config.hpp"
#include "nanochat/cpu_info.hpp"
#include "nanochat/log.hpp"
#include "nanochat/xxh64.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace nanochat {
namespace {

constexpr int kFormatVersion = 1;

Json empty_cache() { return {{"version", kFormatVersion}, {"machines", Json::object()}}; }

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string hash_text(const std::string& text) { return hex64(xxh64(text.data(), text.size())); }

// The entry's object when the record of `id` has one named `name`, else null.
const Json* find_entry(const Json& cache, const std::string& id, const std::string& name) {
  const Json& machines = cache.at("machines");
  auto record = machines.find(id);
  if (record == machines.end() || !record->is_object()) return nullptr;
  auto entries = record->find("entries");
  if (entries == record->end() || !entries->is_object()) return nullptr;
  auto entry = entries->find(name);
  if (entry == entries->end() || !entry->is_object() || !entry->contains("value")) return nullptr;
  return &*entry;
}

}  // namespace

std::string MachineKey::id() const {
  return hash_text(cpu_model + '\0' + cpu_flags + '\0' + libtorch + '\0' + nanochat);
}

MachineKey MachineKey::this_machine() {
  MachineKey key;
  key.cpu_model = this_cpu().model;
  for (const std::string& flag : this_cpu().flags) key.cpu_flags += (key.cpu_flags.empty() ? "" : " ") + flag;
  key.libtorch = NANOCHAT_TORCH_VERSION;
  key.nanochat = NANOCHAT_VERSION;
  return key;
}

fs::path machine_cache_path() {
  if (const char* chosen = std::getenv("NANOCHAT_MACHINE_CACHE"); chosen != nullptr && *chosen != '\0') {
    return std::string(chosen) == "off" ? fs::path() : fs::path(chosen);
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "nanochat-cpp" / "machine.json";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "nanochat-cpp" / "machine.json";
  }
  return {};  // nowhere to keep it: measure every time
}

MachineFacts::MachineFacts(fs::path file, MachineKey key) : file_(std::move(file)), key_(std::move(key)) {}

MachineFacts& MachineFacts::instance() {
  static MachineFacts facts(machine_cache_path(), MachineKey::this_machine());
  return facts;
}

Json MachineFacts::load() const {
  std::error_code ec;
  if (file_.empty() || !fs::exists(file_, ec)) return empty_cache();
  std::ifstream in(file_);
  std::string problem;
  try {
    Json cache = Json::parse(in);
    if (!cache.is_object() || cache.value("version", Json()) != kFormatVersion) {
      problem = "not version " + std::to_string(kFormatVersion) + " of the format";
    } else if (!cache.contains("machines") || !cache.at("machines").is_object()) {
      problem = "no \"machines\" object";
    } else {
      return cache;
    }
  } catch (const Json::exception& e) {
    problem = std::string("not valid JSON: ") + e.what();
  }
  log::warn("machine cache {}: {}; replacing it with fresh measurements", file_.string(), problem);
  return empty_cache();
}

void MachineFacts::store(Json cache, const std::string& name, const Json& entry) {
  const std::string id = key_.id();
  const std::string flags_hash = hash_text(key_.cpu_flags);
  Json& machines = cache.at("machines");
  // Another build on this same CPU: its measurements are stale (LibTorch or our kernels changed).
  for (auto it = machines.begin(); it != machines.end();) {
    const bool same_cpu = it->is_object() && it->value("cpu", Json()) == key_.cpu_model &&
                          it->value("cpu_flags_xxh64", Json()) == flags_hash;
    it = (it.key() != id && same_cpu) ? machines.erase(it) : std::next(it);
  }
  Json& record = machines[id];
  if (!record.is_object() || !record.contains("entries") || !record.at("entries").is_object()) {
    record = {{"entries", Json::object()}};
  }
  record["cpu"] = key_.cpu_model;
  record["cpu_flags_xxh64"] = flags_hash;
  record["libtorch"] = key_.libtorch;
  record["nanochat"] = key_.nanochat;
  record["entries"][name] = entry;
  try {
    fs::create_directories(file_.parent_path());
    atomic_write_file(file_, cache.dump(2) + "\n");
  } catch (const std::exception& e) {
    if (!warned_unwritable_) {
      log::warn("cannot write the machine cache {} ({}): measurements will be repeated next run", file_.string(),
                e.what());
      warned_unwritable_ = true;
    }
  }
}

Json MachineFacts::get_or_measure(const std::string& name, const std::function<Json()>& measure,
                                  const std::function<bool(const Json&)>& usable) {
  std::lock_guard<std::recursive_mutex> in_process(mutex_);
  if (depth_ == 0 && !file_.empty()) {
    // Other processes of this machine (ranks) wait here and then read what this one measured.
    std::error_code ec;
    fs::create_directories(file_.parent_path(), ec);
    lock_fd_ = ::open((file_.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ >= 0) ::flock(lock_fd_, LOCK_EX);
  }
  ++depth_;
  struct Unlock {
    MachineFacts& facts;
    ~Unlock() {
      if (--facts.depth_ == 0 && facts.lock_fd_ >= 0) {
        ::close(facts.lock_fd_);  // releases the flock
        facts.lock_fd_ = -1;
      }
    }
  } unlock{*this};

  const Json cache = load();
  if (const Json* entry = find_entry(cache, key_.id(), name)) {
    if (!usable || usable(entry->at("value"))) return entry->at("value");
  }
  const auto start = std::chrono::steady_clock::now();
  Json value = measure();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!file_.empty()) {
    // Loaded again: a nested measurement may have added its own entry meanwhile.
    store(load(), name, {{"value", value}, {"seconds", seconds}, {"measured_at", utc_now()}});
  }
  return value;
}

}  // namespace nanochat

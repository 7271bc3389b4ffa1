// Logging to stderr with a wall-clock time stamp; the level comes from NANOCHAT_LOG.
#include "nanochat/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

namespace nanochat::log {
namespace {

Level level_from_env() {
  const char* value = std::getenv("NANOCHAT_LOG");
  if (value == nullptr) return Level::info;
  std::string v(value);
  if (v == "debug") return Level::debug;
  if (v == "warn") return Level::warn;
  if (v == "error") return Level::error;
  return Level::info;
}

std::atomic<int>& current_level() {
  static std::atomic<int> level{static_cast<int>(level_from_env())};
  return level;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

}  // namespace

void set_level(Level level) { current_level().store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= current_level().load(); }

void write(Level level, std::string_view message) {
  static std::mutex mutex;
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "%s %-5s %.*s\n", stamp, level_name(level), static_cast<int>(message.size()),
               message.data());
}

}  // namespace nanochat::log

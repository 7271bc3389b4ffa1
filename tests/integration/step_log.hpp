// What the training-stage tests read from a run's --log-file (one JSON line per step), and
// killing a run with SIGKILL once its log reaches a step, to test exact resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nanochat::test {

// The log's lines by step (a later line of a step replaces an earlier one, as a resumed run
// rewrites the steps after its checkpoint). No file: empty.
std::map<int64_t, nlohmann::json> read_step_log(const std::filesystem::path& log);

// One field of every step's line.
std::map<int64_t, double> step_values(const std::filesystem::path& log, const std::string& field);

// Starts `host args...` with `env`, waits until `log` has `step` (3 minutes at most), then
// kills it with SIGKILL. Returns "" or what went wrong (e.g. it finished first).
std::string kill_when_logged(const std::string& host, const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& env,
                             const std::filesystem::path& log, int64_t step);

}  // namespace nanochat::test

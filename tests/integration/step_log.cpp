// Step logs and killing a run mid-way (see step_log.hpp).
#include "step_log.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "nanochat/subprocess.hpp"

namespace nanochat::test {

std::map<int64_t, nlohmann::json> read_step_log(const std::filesystem::path& log) {
  std::map<int64_t, nlohmann::json> by_step;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.back() != '}') continue;  // a line still being written
    nlohmann::json row = nlohmann::json::parse(line);
    const int64_t step = row.at("step").get<int64_t>();
    by_step[step] = std::move(row);
  }
  return by_step;
}

std::map<int64_t, double> step_values(const std::filesystem::path& log, const std::string& field) {
  std::map<int64_t, double> values;
  for (const auto& [step, row] : read_step_log(log)) values[step] = row.at(field).get<double>();
  return values;
}

std::string kill_when_logged(const std::string& host, const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& env,
                             const std::filesystem::path& log, int64_t step) {
  std::vector<std::string> command = args;
  command.insert(command.begin(), host);
  const pid_t pid = spawn_process(command, env);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (read_step_log(log).count(step) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status)) return "the run finished before it could be killed";
  return "";
}

}  // namespace nanochat::test

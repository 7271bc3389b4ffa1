// Reading the eval stage's result files (see eval_results.hpp).
#include "eval_results.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "text_file.hpp"

namespace fs = std::filesystem;

namespace nanochat::report {
namespace {

constexpr std::array<const char*, 4> kSources = {"base", "mid", "sft", "rl"};
constexpr std::array<const char*, 4> kKinds = {"core", "bpb", "chat", "sample"};

template <size_t N>
std::string one_of(const nlohmann::json& object, const char* key, const std::array<const char*, N>& allowed) {
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  if (!object.contains(key) || !object[key].is_string()) throw Error(std::string("no string \"") + key + "\" (one of " + list + ")");
  const std::string value = object[key].get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    throw Error(std::string("\"") + key + "\" is \"" + value + "\", not one of " + list);
  }
  return value;
}

}  // namespace

EvalResult parse_eval_result(const std::string& json_text) {
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) throw Error("not JSON");
  if (!j.is_object()) throw Error("not a JSON object");
  EvalResult result;
  result.source = one_of(j, "source", kSources);
  result.kind = one_of(j, "kind", kKinds);
  if (j.contains("tasks")) {
    if (!j["tasks"].is_array()) throw Error("\"tasks\" is not an array");
    for (const auto& task : j["tasks"]) {
      if (!task.is_object() || !task.contains("name") || !task["name"].is_string()) throw Error("a task without a string \"name\"");
      result.task_names.push_back(task["name"].get<std::string>());
    }
  }
  if (j.contains("summary")) {
    if (!j["summary"].is_object()) throw Error("\"summary\" is not an object");
    for (const auto& [metric, value] : j["summary"].items()) {
      if (value.is_null()) continue;
      if (!value.is_number()) throw Error("summary \"" + metric + "\" is not a number");
      result.summary[metric] = value.get<double>();
    }
  }
  return result;
}

EvalResults read_eval_results(const fs::path& eval_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(eval_dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  EvalResults out;
  for (const fs::path& file : files) {
    try {
      out.results.push_back(parse_eval_result(read_text_file(file)));
    } catch (const Error& e) {
      const std::string why = file.string() + ": " + e.what();
      log::warn("report: skipping {}", why);
      out.skipped.push_back(why);
    }
  }
  return out;
}

}  // namespace nanochat::report

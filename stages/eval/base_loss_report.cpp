// The "Base model loss" report section (see base_loss_report.hpp).
#include "base_loss_report.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "eval_common.hpp"
#include "nanochat/report.hpp"

namespace fs = std::filesystem;

namespace nanochat::eval {
namespace {

nlohmann::json read_result(const fs::path& base_dir, const char* kind) {
  std::ifstream in(eval_result_path(base_dir, "base", kind));
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);  // discarded (null) when damaged
}

}  // namespace

void write_base_loss_report(const fs::path& base_dir) {
  const nlohmann::json bpb = read_result(base_dir, "bpb");
  const nlohmann::json samples = read_result(base_dir, "sample");
  ReportItems items;
  for (const nlohmann::json* result : {&bpb, &samples}) {
    if (!result->is_object()) continue;
    items.emplace_back("Model", fmt::format("base model {} step {}", result->value("model_tag", ""), result->value("step", -1)));
    break;
  }
  if (bpb.is_object() && bpb.contains("summary")) {
    for (const auto& [name, value] : bpb["summary"].items()) {
      if (value.is_number()) items.emplace_back(name, value.get<double>());
    }
  }
  if (samples.is_object() && samples.contains("samples")) {
    size_t i = 0;
    for (const auto& sample : samples["samples"]) {
      if (sample.is_string()) items.emplace_back(fmt::format("sample {}", i++), sample.get<std::string>());
    }
  }
  write_report_section(base_dir, "Base model loss", items);
}

}  // namespace nanochat::eval

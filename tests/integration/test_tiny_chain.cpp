// `nanochat speedrun --preset tiny --smoke` end to end through the real host and plugins, on
// the real data of ../shared/data: every step runs in order in a fresh base dir, leaves its
// artifacts and done marker, the report's summary table holds the evals' numbers in the
// BASE / SFT / RL columns, and the chain ends by naming the report card and the command that
// serves the model.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <sstream>

#include "host_process.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::read_text;

namespace {

const fs::path kSourceDir = NANOCHAT_TEST_SOURCE_DIR;

// The summary table's cells: metric → column (BASE, MID, SFT, RL) → text.
using TableCells = std::map<std::string, std::map<std::string, std::string>>;

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream parts(line.substr(1));  // after the leading '|'
  for (std::string cell; std::getline(parts, cell, '|');) {
    const size_t begin = cell.find_first_not_of(' ');
    cells.push_back(begin == std::string::npos ? "" : cell.substr(begin, cell.find_last_not_of(' ') - begin + 1));
  }
  return cells;
}

// The table under the header line "| Metric ... | BASE | MID | SFT | RL |" of report.md;
// fails the test when the header is not there.
TableCells summary_table(const std::string& report) {
  TableCells table;
  const size_t header = report.find("| Metric ");
  EXPECT_NE(header, std::string::npos) << report;
  if (header == std::string::npos) return table;
  std::istringstream lines(report.substr(header));
  std::string line;
  std::getline(lines, line);
  const std::vector<std::string> columns = cells_of(line);
  EXPECT_EQ(columns, (std::vector<std::string>{"Metric", "BASE", "MID", "SFT", "RL"})) << line;
  std::getline(lines, line);  // the separator
  while (std::getline(lines, line) && line.rfind("| ", 0) == 0) {
    const std::vector<std::string> cells = cells_of(line);
    for (size_t i = 1; i < cells.size() && i < columns.size(); ++i) table[cells[0]][columns[i]] = cells[i];
  }
  return table;
}

nlohmann::json summary_of(const fs::path& eval_file) {
  return nlohmann::json::parse(read_text(eval_file)).at("summary");
}

// A summary value as the table writes it.
std::string table_text(const nlohmann::json& summary, const std::string& metric) {
  return summary.contains(metric) ? fmt::format("{:.4f}", summary.at(metric).get<double>()) : "(not in the eval file)";
}

TEST(TinyChain, SmokeRunsEveryStepAndEndsWithTheReportAndTheServeCommand) {
  // tiny.ini names its corpus ../shared/data/...: the chain runs from the checkout's root.
  const fs::path shared_data = kSourceDir / ".." / "shared" / "data";
  if (!fs::exists(shared_data / "pretrain_gutenberg")) {
    GTEST_SKIP() << "no " << (shared_data / "pretrain_gutenberg").string()
                 << " (the shared data folder is not beside the checkout)";
  }
  nanochat::test::ScratchDir scratch;
  const fs::path base = scratch.path / "base";
  HostResult run = nanochat::test::run_host(
      "/usr/bin/env", {"-C", kSourceDir.string(), NANOCHAT_TEST_HOST, "speedrun", "--preset", "tiny", "--smoke"},
      {{"NANOCHAT_BASE_DIR", base.string()},
       {"NANOCHAT_PLUGIN_PATH", ""},
       {"NANOCHAT_DATA_DIR", ""},
       {"NANOCHAT_MACHINE_CACHE", (scratch.path / "machine.json").string()}});
  ASSERT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 6000 ? run.err.size() - 6000 : 0);

  // Every step ran, with its smoke section.
  for (const char* label : {"report-reset", "tokenizer", "data", "pretrain", "base-eval", "midtrain", "sft", "sft-eval",
                            "rl", "rl-eval", "report", "artifacts"}) {
    const fs::path marker = base / "runs" / "tiny" / (std::string(label) + ".done");
    ASSERT_TRUE(fs::exists(marker)) << marker;
    EXPECT_TRUE(nlohmann::json::parse(read_text(marker)).at("smoke").get<bool>()) << marker;
  }
  EXPECT_NE(run.err.find("step 12/12 artifacts"), std::string::npos) << run.err;

  // Each step's artifacts.
  for (const char* file : {"tokenizer/tokenizer.json", "tokenizer/token_bytes.safetensors", "base_data/index.json",
                           "base_checkpoints/d1/meta_000010.json", "mid_checkpoints/d1/meta_000004.json",
                           "chatsft_checkpoints/d1/meta_000003.json", "chatrl_checkpoints/d1/meta_000002.json",
                           "eval/base-core.json", "eval/sft-chat.json", "eval/rl-chat.json", "report/report.md"}) {
    EXPECT_TRUE(fs::exists(base / file)) << file;
  }
  size_t shards = 0;
  for (const auto& entry : fs::directory_iterator(base / "base_data")) {
    shards += std::regex_match(entry.path().filename().string(), std::regex(R"(shard_\d{5}\.bin)"));
  }
  EXPECT_GE(shards, 2u) << "a train and a val shard";

  // The summary table: each eval's numbers in its column, as the eval files hold them.
  const TableCells table = summary_table(read_text(base / "report" / "report.md"));
  auto cell = [&](const std::string& metric, const std::string& column) {
    return table.count(metric) ? table.at(metric).at(column) : "(no row " + metric + ")";
  };
  const nlohmann::json base_eval = summary_of(base / "eval" / "base-core.json");
  const nlohmann::json sft_eval = summary_of(base / "eval" / "sft-chat.json");
  const nlohmann::json rl_eval = summary_of(base / "eval" / "rl-chat.json");
  // CORE-N: the N of nanochat's 22 CORE tasks the shared data holds
  ASSERT_EQ(base_eval.size(), 1u) << base_eval.dump();
  const std::string core = base_eval.begin().key();
  EXPECT_EQ(core.rfind("CORE", 0), 0u) << core;
  EXPECT_EQ(cell(core, "BASE"), table_text(base_eval, core));
  EXPECT_EQ(cell(core, "SFT"), "-");
  for (const std::string metric : {"ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "HumanEval", "ChatCORE"}) {
    EXPECT_EQ(cell(metric, "SFT"), table_text(sft_eval, metric)) << metric;
    EXPECT_EQ(cell(metric, "BASE"), "-") << metric;
    EXPECT_EQ(cell(metric, "RL"), metric == "GSM8K" ? table_text(rl_eval, metric) : "-") << metric;  // RL: GSM8K only
  }
  for (const auto& [metric, columns] : table) EXPECT_EQ(columns.at("MID"), "-") << metric << ": no eval of mid";
  EXPECT_EQ(table.size(), 7u);

  // The last lines: the report card and how to serve the RL model.
  const std::string expected_end = "report card: " + (base / "report" / "report.md").string() +
                                   "\nserve the model: nanochat serve --source rl\n";
  ASSERT_GE(run.out.size(), expected_end.size()) << run.out;
  EXPECT_EQ(run.out.substr(run.out.size() - expected_end.size()), expected_end) << run.out;
}

}  // namespace

// The report stage's parts without the host: the Summary table (nanochat's widths, "-" for
// missing cells, CORE first, ChatCORE last, RL only GSM8K), the wall-clock format, eval result
// files (bad ones skipped and named), metrics files with restarts, the header's facts,
// section order, licences read from the shared data's PROVENANCE.md files, and the SDK's
// process_output that asks git and nvidia-smi.
#include <gtest/gtest.h>

#include <fstream>

#include "../integration/host_process.hpp"
#include "data_licences.hpp"
#include "eval_results.hpp"
#include "hardware.hpp"
#include "nanochat/error.hpp"
#include "nanochat/subprocess.hpp"
#include "report_header.hpp"
#include "report_plots.hpp"
#include "report_sections.hpp"
#include "source_tree.hpp"
#include "summary_table.hpp"

namespace fs = std::filesystem;
using namespace nanochat::report;
using nanochat::test::ScratchDir;

namespace {

const fs::path kData = fs::path(NANOCHAT_TEST_SHARED_DIR) / "data";

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  nanochat::test::write_text(file, text);
}

EvalResult result(const std::string& source, std::map<std::string, double> summary) {
  return EvalResult{source, source == "base" ? "core" : "chat", {}, std::move(summary)};
}

}  // namespace

TEST(SummaryTable, NanochatsShapeWithDashesForMissingCells) {
  const SummaryValues values = summary_values({
      result("base", {{"CORE-20", 0.2219}}),
      result("mid", {{"ARC-Easy", 0.3561}, {"ChatCORE", 0.073}, {"MMLU", 0.3111}, {"SpellingBee", 0.9}}),
      result("sft", {{"ARC-Easy", 0.3876}, {"ARC-Challenge", 0.2807}, {"GSM8K", 0.0455}, {"HumanEval", 0.0854}}),
      result("rl", {{"GSM8K", 0.0758}, {"ARC-Easy", 0.5}}),
  });
  EXPECT_EQ(summary_table(values),
            "| Metric          | BASE     | MID      | SFT      | RL       |\n"
            "|-----------------|----------|----------|----------|----------|\n"
            "| CORE-20         | 0.2219   | -        | -        | -        |\n"
            "| ARC-Challenge   | -        | -        | 0.2807   | -        |\n"
            "| ARC-Easy        | -        | 0.3561   | 0.3876   | -        |\n"
            "| GSM8K           | -        | -        | 0.0455   | 0.0758   |\n"
            "| HumanEval       | -        | -        | 0.0854   | -        |\n"
            "| MMLU            | -        | 0.3111   | -        | -        |\n"
            "| ChatCORE        | -        | 0.0730   | -        | -        |\n");
}

TEST(SummaryTable, NoResultsLeavesTheHeaderOnly) {
  EXPECT_EQ(summary_table({}),
            "| Metric          | BASE     | MID      | SFT      | RL       |\n"
            "|-----------------|----------|----------|----------|----------|\n");
}

TEST(SummaryTable, WallClockIsWholeHoursAndMinutes) {
  EXPECT_EQ(format_wall_clock(3 * 3600 + 51 * 60 + 59), "3h51m");
  EXPECT_EQ(format_wall_clock(7 * 60 + 30), "0h7m");
  EXPECT_EQ(format_wall_clock(26 * 3600), "26h0m");
  EXPECT_EQ(format_wall_clock(-5), "0h0m");
}

TEST(EvalResults, ParsesTheContract) {
  const EvalResult r = parse_eval_result(R"({"source": "sft", "kind": "chat", "model_tag": "d20", "step": 700,
    "seconds": 12.5, "time": "2026-12-01 12:00:00",
    "tasks": [{"name": "ARC-Easy", "label": "ARC-Easy", "accuracy": 0.4, "centered": 0.2, "items": 2376},
              {"name": "GSM8K", "label": "GSM8K", "accuracy": 0.05, "centered": 0.05, "items": 1319}],
    "summary": {"ARC-Easy": 0.4, "GSM8K": 0.05, "HumanEval": null}})");
  EXPECT_EQ(r.source, "sft");
  EXPECT_EQ(r.kind, "chat");
  EXPECT_EQ(r.task_names, (std::vector<std::string>{"ARC-Easy", "GSM8K"}));
  EXPECT_EQ(r.summary, (std::map<std::string, double>{{"ARC-Easy", 0.4}, {"GSM8K", 0.05}}));
}

TEST(EvalResults, BadFilesAreSkippedAndNamed) {
  ScratchDir dir;
  write_text(dir.path / "base-core.json", R"({"source": "base", "kind": "core", "summary": {"CORE-20": 0.21}})");
  write_text(dir.path / "mid-chat.json", "{\"source\": \"mid\", ");
  write_text(dir.path / "odd-chat.json", R"({"source": "final", "kind": "chat"})");
  write_text(dir.path / "sft-chat.json", R"({"source": "sft", "kind": "chat", "summary": {"MMLU": "high"}})");
  write_text(dir.path / "notes.txt", "not a result");
  const EvalResults results = read_eval_results(dir.path);
  ASSERT_EQ(results.results.size(), 1u);
  EXPECT_EQ(results.results[0].summary.at("CORE-20"), 0.21);
  ASSERT_EQ(results.skipped.size(), 3u);
  EXPECT_NE(results.skipped[0].find("mid-chat.json: not JSON"), std::string::npos) << results.skipped[0];
  EXPECT_NE(results.skipped[1].find("odd-chat.json: \"source\" is \"final\", not one of base, mid, sft, rl"), std::string::npos)
      << results.skipped[1];
  EXPECT_NE(results.skipped[2].find("sft-chat.json: summary \"MMLU\" is not a number"), std::string::npos) << results.skipped[2];
  EXPECT_TRUE(read_eval_results(dir.path / "absent").results.empty());
}

TEST(MetricsFile, ARestartReplacesThePointsFromItsStepOn) {
  ScratchDir dir;
  const fs::path file = dir.path / "base-model-training.jsonl";
  write_text(file,
             "{\"stage\":\"pretrain\",\"step\":0,\"eval\":{\"val_bpb\":3.5}}\n"
             "{\"stage\":\"pretrain\",\"step\":0,\"loss\":9.0,\"smooth_loss\":9.0,\"tok_per_sec\":1000}\n"
             "{\"stage\":\"pretrain\",\"step\":1,\"loss\":8.0,\"smooth_loss\":8.5,\"tok_per_sec\":1100}\n"
             "{\"stage\":\"pretrain\",\"step\":2,\"loss\":7.0,\"smooth_loss\":8.0,\"tok_per_sec\":1200}\n"
             "{\"stage\":\"pretrain\",\"step\":1,\"loss\":7.5,\"smooth_loss\":8.2,\"tok_per_sec\":1150}\n"  // resumed at 1
             "not json\n"
             "{\"stage\":\"pretrain\",\"step\":2,\"eval\":{\"val_bpb\":2.5}}\n"
             "{\"stage\":\"rl\",\"step\":3,\"reward\":0.25}\n"
             "{\"stage\":\"pretrain\",\"step\":2,\"loss\":6.5");  // cut short by a crash
  const MetricSeries m = read_metrics_file(file);
  EXPECT_EQ(m.at("loss"), (std::vector<std::pair<double, double>>{{0, 9.0}, {1, 7.5}}));
  EXPECT_EQ(m.at("eval/val_bpb"), (std::vector<std::pair<double, double>>{{0, 3.5}, {2, 2.5}}));
  EXPECT_EQ(m.at("reward"), (std::vector<std::pair<double, double>>{{3, 0.25}}));

  const std::vector<Plot> plots = section_plots("base-model-training", "Base model training", m);
  std::vector<std::string> files;
  for (const Plot& p : plots) files.push_back(p.file);
  EXPECT_EQ(files, (std::vector<std::string>{"base-model-training-training-loss.svg", "base-model-training-val-bpb.svg",
                                             "base-model-training-tokens-per-second.svg", "base-model-training-reward.svg"}));
  EXPECT_EQ(plots[0].chart.series.size(), 2u) << "raw and smoothed loss";
  EXPECT_EQ(plots[1].caption, "Base model training: val bpb");
}

TEST(ReportHeader, FactsComeBackFromTheMarkdown) {
  HeaderInputs in;
  in.generated = parse_report_time("2026-12-01 09:00:00").value();
  in.git.commit = "abc1234";
  in.git.branch = "main";
  in.hardware.platform = "Linux";
  in.hardware.gpus = parse_nvidia_smi("NVIDIA H100 80GB HBM3, 81559, 535.104.05\nNVIDIA H100 80GB HBM3, 81559, 535.104.05\n");
  in.hardware.gpu_driver = "535.104.05";
  in.code_size = CodeSize{4000, 100, 3};
  const std::string header = header_markdown(in) + "Run started: 2026-12-01 09:00:05\n\n---\n\n";
  EXPECT_NE(header.find("# nanochat training report\n\nGenerated: 2026-12-01 09:00:00\n"), std::string::npos) << header;
  EXPECT_NE(header.find("- Commit: abc1234 (clean)\n"), std::string::npos) << header;
  EXPECT_NE(header.find("- GPUs: 2x NVIDIA H100 80GB HBM3\n- GPU Memory: 159.3 GB total\n"), std::string::npos) << header;
  EXPECT_NE(header.find("- Hourly Rate: $6.00/hour\n"), std::string::npos) << header;
  const HeaderFacts facts = parse_header(header);
  EXPECT_EQ(facts.run_started, parse_report_time("2026-12-01 09:00:05"));
  EXPECT_EQ(facts.hourly_rate, 6.0);
  EXPECT_EQ(facts.bloat, "- Characters: 4000\n- Lines: 100\n- Files: 3\n- Tokens (approx): 1000\n");
}

TEST(ReportHeader, NanochatsGpuPrices) {
  EXPECT_EQ(hourly_rate({}), 0.0);
  EXPECT_EQ(hourly_rate(parse_nvidia_smi("NVIDIA A100-SXM4-80GB, 81920, 550.1\n")), 1.79);
  EXPECT_EQ(hourly_rate(parse_nvidia_smi("NVIDIA H200, 143771, 570.1\nNVIDIA H200, 143771, 570.1\n")), 4.0) << "unknown: $2 each";
  EXPECT_TRUE(parse_nvidia_smi("No devices were found\n").empty());
}

TEST(ReportSections, NanochatsOrderThenTheRest) {
  ScratchDir dir;
  write_text(dir.path / "chat-sft.md", "## Chat SFT\ntimestamp: 2026-12-01 12:00:00\n\n- mixture: alpaca\n");
  write_text(dir.path / "base-model-training.md", "## Base model training\ntimestamp: 2026-12-01 10:00:00\n\n");
  write_text(dir.path / "base-model-training.jsonl", "");
  write_text(dir.path / "tokenizer.md", "## Tokenizer\n\n- plugin: `bpe`\n");
  write_text(dir.path / "aaa-custom.md", "## Custom\n");
  write_text(dir.path / "midtraining.jsonl", "");  // still running: metrics only
  write_text(dir.path / "header.md", "# header\n");
  write_text(dir.path / "report.md", "# old report\n");
  const std::vector<ReportSection> sections = read_report_sections(dir.path, {"report.md"});
  std::vector<std::string> slugs;
  for (const ReportSection& s : sections) slugs.push_back(s.slug);
  EXPECT_EQ(slugs, (std::vector<std::string>{"tokenizer", "base-model-training", "midtraining", "chat-sft", "aaa-custom"}));
  EXPECT_EQ(sections[1].title, "Base model training");
  EXPECT_TRUE(sections[1].has_metrics);
  EXPECT_EQ(sections[1].timestamp, parse_report_time("2026-12-01 10:00:00"));
  EXPECT_FALSE(sections[0].timestamp.has_value());
  EXPECT_TRUE(sections[2].text.empty());
  EXPECT_EQ(find_report_item(sections[3].text, "mixture"), "alpaca");
  EXPECT_TRUE(is_rl_section("chat-evaluation-rl"));
  EXPECT_FALSE(is_rl_section("world-model"));
}

TEST(DataLicences, ProvenanceLicenceShapes) {
  EXPECT_EQ(provenance_licence("| field | value |\n|---|---|\n| license | **MIT** (Copyright 2021 OpenAI) |\n"),
            "**MIT** (Copyright 2021 OpenAI)");
  EXPECT_EQ(provenance_licence("# x\n- Source: there\n- License: Apache License 2.0 (LICENSE.txt beside this file).\n"),
            "Apache License 2.0 (LICENSE.txt beside this file).");
  EXPECT_EQ(provenance_licence("| part | repo | license (as stated) |\n|---|---|---|\n| `a.jsonl` | x | Apache-2.0 |\n"
                               "| `b.csv` | y | MIT |\n\nAfter.\n| k | v |\n"),
            "`a.jsonl`: Apache-2.0; `b.csv`: MIT");
  EXPECT_EQ(provenance_licence("# nothing here\n"), "");
  EXPECT_TRUE(is_non_commercial("The Alpaca data is **CC BY-NC 4.0**"));
  EXPECT_FALSE(is_non_commercial("**MIT**"));
}

TEST(DataLicences, TheRunsDatasetsWithTheirLicences) {
  if (!fs::exists(kData / "sft_alpaca_cleaned_1000" / "PROVENANCE.md")) GTEST_SKIP() << "no " << kData << " beside the checkout";
  ScratchDir dir;
  const fs::path base = dir.path / "base";
  write_text(base / "base_data" / "index.json", R"({"sources": ["../somewhere/else/shared/data/pretrain_gutenberg", "/mine/corpus.txt"]})");
  ReportSection mid;
  mid.title = "Midtraining";
  mid.text = "## Midtraining\n- mixture: alpaca,identity*2,arc-easy,arc-challenge,my-task\n- val mixture: alpaca:test\n";
  const std::vector<EvalResult> evals = {EvalResult{"base", "core", {"hellaswag_zeroshot"}, {}},
                                         EvalResult{"sft", "chat", {"ARC-Challenge", "HumanEval"}, {}}};
  const DataUses uses = collect_data_uses(base, {mid}, evals, kData);
  const std::string section = licences_section(uses);
  EXPECT_EQ(section.rfind("## Data licences\n", 0), 0u);
  EXPECT_NE(section.find("**Non-commercial use only**: `sft_alpaca_cleaned_1000`"), std::string::npos) << section;
  EXPECT_NE(section.find("- `sft_alpaca_cleaned_1000` (Midtraining: alpaca; Midtraining validation: alpaca): FastChat is **Apache-2.0**."),
            std::string::npos)
      << section;
  EXPECT_NE(section.find("- `pretrain_gutenberg` (pretraining corpus): "), std::string::npos) << section;
  EXPECT_NE(section.find("- `eval_arc` (Midtraining: arc-challenge, arc-easy; sft chat evaluation: arc-challenge): "),
            std::string::npos)
      << section;
  EXPECT_NE(section.find("- `eval_core` (base core evaluation): `eval_data/**.jsonl`: The repo is Apache-2.0."), std::string::npos)
      << section;
  EXPECT_NE(section.find("- `eval_humaneval` (sft chat evaluation: humaneval): **MIT**"), std::string::npos) << section;
  EXPECT_NE(section.find("- `/mine/corpus.txt` (pretraining corpus): no PROVENANCE.md found, licence unknown"), std::string::npos)
      << section;
  EXPECT_NE(section.find("- task `my-task` (Midtraining: my-task): no PROVENANCE.md found"), std::string::npos) << section;
}

TEST(SourceTree, CodeSizeCountsTheSourcesOutsideBuildTrees) {
  ScratchDir dir;
  write_text(dir.path / "a.cpp", "int main() {}\n");
  write_text(dir.path / "sub" / "CMakeLists.txt", "project(x)\nadd_executable(x a.cpp)");
  write_text(dir.path / "notes.txt", "not code\n");
  write_text(dir.path / "build" / "CMakeCache.txt", "");
  write_text(dir.path / "build" / "generated.cpp", "// generated\n");
  write_text(dir.path / ".git-like" / "x.md", "# hidden\n");
  const auto size = measure_code_size(dir.path);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->files, 2);
  EXPECT_EQ(size->lines, 3);
  EXPECT_EQ(size->characters, 14 + 34);
  EXPECT_FALSE(measure_code_size(dir.path / "absent").has_value());
  EXPECT_EQ(read_git_info(dir.path / "absent").commit, "unknown");
}

TEST(ProcessOutput, StdoutOfACommandThatSucceeds) {
  EXPECT_EQ(nanochat::process_output({"sh", "-c", "echo out; echo err >&2"}), std::optional<std::string>("out\n"));
  EXPECT_FALSE(nanochat::process_output({"sh", "-c", "echo partial; exit 3"}).has_value());
  EXPECT_FALSE(nanochat::process_output({"nanochat-no-such-tool"}).has_value());
}

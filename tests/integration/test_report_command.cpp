// `nanochat run report` through the real host on a fixture base dir: --reset clears the old
// run and writes the header; the report then holds the header, the stages' sections in
// nanochat's order with their plots (SVG files beside report.md), the data licences, and the
// Summary built from eval result files (a broken one named and left out) with the wall-clock
// time from "Run started" to the last section that is not RL's.
#include <gtest/gtest.h>

#include <regex>

#include "host_process.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;

namespace {

const std::string kHost = NANOCHAT_TEST_HOST;
const fs::path kData = fs::path(NANOCHAT_TEST_SHARED_DIR) / "data";

void put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  nanochat::test::write_text(file, text);
}

class ReportCommand : public ::testing::Test {
 protected:
  ScratchDir scratch;
  fs::path base() const { return scratch.path / "base"; }
  fs::path report_dir() const { return base() / "report"; }

  HostResult report(std::vector<std::string> args = {}) const {
    args.insert(args.begin(), {"run", "report", "--task-data-dir", kData.string()});
    return nanochat::test::run_host(kHost, args, {{"NANOCHAT_BASE_DIR", base().string()}, {"NANOCHAT_PLUGIN_PATH", ""}});
  }

  // What the stages of a small run leave behind.
  void write_run() const {
    put(report_dir() / "tokenizer.md", "## Tokenizer\n\n- plugin: `bpe`\n\n");
    put(report_dir() / "base-model-training.md", "## Base model training\ntimestamp: 2026-01-01 12:00:00\n\n- depth: 4\n\n");
    put(report_dir() / "midtraining.md",
        "## Midtraining\ntimestamp: 2026-01-01 13:00:00\n\n- mixture: alpaca,identity*2\n- val mixture: alpaca:test\n\n");
    put(report_dir() / "chat-sft.md", "## Chat SFT\ntimestamp: 2026-01-01 13:51:30\n\n- mixture: oasst\n\n");
    put(report_dir() / "chat-rl.md", "## Chat RL\ntimestamp: 2026-01-01 20:00:00\n\n- steps: 5\n\n");
    std::string steps;
    for (int step = 0; step < 20; ++step) {
      steps += "{\"stage\":\"pretrain\",\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(9.0 - 0.2 * step) +
               ",\"smooth_loss\":" + std::to_string(9.0 - 0.1 * step) + ",\"tok_per_sec\":" + std::to_string(1000 + step) + "}\n";
    }
    put(report_dir() / "base-model-training.jsonl",
        "{\"stage\":\"pretrain\",\"step\":0,\"eval\":{\"val_bpb\":3.5}}\n" + steps + "{\"stage\":\"pretrain\",\"step\":20,\"eval\":{\"val_bpb\":2.1}}\n");
    put(report_dir() / "chat-rl.jsonl", "{\"stage\":\"rl\",\"step\":0,\"reward\":0.1}\n{\"stage\":\"rl\",\"step\":1,\"reward\":0.3}\n");
    put(base() / "eval" / "base-core.json", R"({"source": "base", "kind": "core", "summary": {"CORE-20": 0.21}})");
    put(base() / "eval" / "sft-chat.json",
        R"({"source": "sft", "kind": "chat", "tasks": [{"name": "GSM8K"}], "summary": {"GSM8K": 0.05, "ChatCORE": 0.09}})");
    put(base() / "eval" / "mid-chat.json", "{ not json");
    put(base() / "base_data" / "index.json", R"({"sources": ["../shared/data/pretrain_gutenberg"]})");
  }
};

}  // namespace

TEST_F(ReportCommand, ResetThenGenerate) {
  put(report_dir() / "old-stage.md", "## Old\n");
  put(report_dir() / "old-stage.jsonl", "{}\n");
  put(report_dir() / "old-stage-loss.svg", "<svg/>");
  HostResult reset = report({"--reset"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_FALSE(fs::exists(report_dir() / "old-stage.md"));
  EXPECT_FALSE(fs::exists(report_dir() / "old-stage.jsonl"));
  EXPECT_FALSE(fs::exists(report_dir() / "old-stage-loss.svg"));
  std::string header = nanochat::test::read_text(report_dir() / "header.md");
  EXPECT_EQ(header.rfind("# nanochat training report\n", 0), 0u) << header;
  for (const char* line : {"### Git Information\n- Branch: ", "### Hardware\n- Platform: ", "### Software\n- nanochat-cpp: ",
                           "### Bloat\n- Characters: ", "Run started: "}) {
    EXPECT_NE(header.find(line), std::string::npos) << line << " in\n" << header;
  }
  // The run started at a known time, so the wall-clock total is known too.
  header = std::regex_replace(header, std::regex("Run started: [0-9: -]+"), "Run started: 2026-01-01 10:00:00");
  put(report_dir() / "header.md", header);
  write_run();

  HostResult r = report();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path out = report_dir() / "report.md";
  EXPECT_EQ(r.out, out.string() + "\n");
  EXPECT_NE(r.err.find("mid-chat.json: not JSON"), std::string::npos) << r.err;
  const std::string md = nanochat::test::read_text(out);
  EXPECT_EQ(md.rfind(header, 0), 0u) << "the header comes first, as written";

  size_t last = 0;
  for (const char* heading : {"## Tokenizer\n", "## Base model training\n", "## Midtraining\n", "## Chat SFT\n", "## Chat RL\n",
                              "## Data licences\n", "## Summary\n"}) {
    const size_t at = md.find(heading);
    ASSERT_NE(at, std::string::npos) << heading << " in\n" << md;
    EXPECT_GT(at, last) << heading << " out of order";
    last = at;
  }
  for (const char* plot : {"base-model-training-training-loss.svg", "base-model-training-val-bpb.svg",
                           "base-model-training-tokens-per-second.svg", "chat-rl-reward.svg"}) {
    EXPECT_NE(md.find(std::string("](") + plot + ")"), std::string::npos) << plot << " is not embedded";
    const std::string svg = nanochat::test::read_text(report_dir() / plot);
    EXPECT_EQ(svg.rfind("<svg ", 0), 0u) << plot;
    EXPECT_NE(svg.find("<polyline"), std::string::npos) << plot;
  }
  EXPECT_NE(md.find("- depth: 4\n\n![Base model training: training loss](base-model-training-training-loss.svg) "), std::string::npos) << md;

  EXPECT_NE(md.find("| CORE-20         | 0.2100   | -        | -        | -        |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| GSM8K           | -        | -        | 0.0500   | -        |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| ChatCORE        | -        | -        | 0.0900   | -        |\n"), std::string::npos) << md;
  EXPECT_LT(md.find("| CORE-20"), md.find("| GSM8K")) << "CORE first";
  EXPECT_LT(md.find("| GSM8K"), md.find("| ChatCORE")) << "ChatCORE last";
  EXPECT_NE(md.find("Eval results left out:\n- "), std::string::npos) << md;
  EXPECT_NE(md.find("Total wall clock time: 3h51m\n"), std::string::npos) << "RL's later section does not count:\n" << md;
  EXPECT_NE(md.find("## Summary\n\n- Characters: "), std::string::npos) << "the bloat lines open the summary";
  if (fs::exists(kData / "sft_alpaca_cleaned_1000" / "PROVENANCE.md")) {
    EXPECT_NE(md.find("**Non-commercial use only**: `sft_alpaca_cleaned_1000`"), std::string::npos) << md;
    EXPECT_NE(md.find("- `pretrain_gutenberg` (pretraining corpus): "), std::string::npos) << md;
    EXPECT_NE(md.find("- `sft_oasst_en100` (Chat SFT: oasst): The repo is **Apache-2.0**"), std::string::npos) << md;
  }

  // Elsewhere, with its plots beside it; report/ keeps only what the stages wrote.
  const fs::path elsewhere = scratch.path / "elsewhere" / "card.md";
  HostResult moved = report({"--out", elsewhere.string()});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_TRUE(fs::exists(elsewhere));
  EXPECT_TRUE(fs::exists(elsewhere.parent_path() / "chat-rl-reward.svg"));
}

TEST_F(ReportCommand, WithoutAResetTheHeaderIsMadeNowAndTheTimeIsUnknown) {
  put(report_dir() / "chat-sft.md", "## Chat SFT\ntimestamp: 2026-01-01 13:51:30\n\n- mixture: oasst\n\n");
  HostResult r = report();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("nanochat run report --reset"), std::string::npos) << r.err;
  const std::string md = nanochat::test::read_text(report_dir() / "report.md");
  EXPECT_EQ(md.rfind("# nanochat training report\n", 0), 0u) << md;
  EXPECT_EQ(md.find("Run started:"), std::string::npos);
  EXPECT_NE(md.find("## Chat SFT\n"), std::string::npos);
  EXPECT_NE(md.find("Total wall clock time: unknown ("), std::string::npos) << md;
  EXPECT_NE(md.find("| Metric          | BASE     | MID      | SFT      | RL       |\n"), std::string::npos) << md;
}

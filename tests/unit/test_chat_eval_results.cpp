// What a chat evaluation writes (stages/eval/chat_eval_results.hpp): the JSON file with the
// fields `nanochat run report` reads, ChatCORE only when nanochat's six all ran, the report
// section in nanochat's "- key: value" shape, and the summary table.
#include "chat_eval_results.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "../integration/host_process.hpp"

namespace {

using nanochat::EvalType;
using nanochat::eval::ChatEvalRun;
using nanochat::eval::ChatTaskResult;

ChatEvalRun six_tasks() {
  ChatEvalRun run;
  run.source = "sft";
  run.model_tag = "d4";
  run.step = 60;
  run.max_problems = 100;
  run.seconds = 12.5;
  run.tasks = {{"arc-easy", "ARC-Easy", "test", EvalType::categorical, {40, 100}, 1.0},
               {"arc-challenge", "ARC-Challenge", "test", EvalType::categorical, {25, 100}, 1.0},
               {"mmlu", "MMLU", "test", EvalType::categorical, {31, 100}, 1.0},
               {"gsm8k", "GSM8K", "test", EvalType::generative, {5, 100}, 2.0},
               {"humaneval", "HumanEval", "test", EvalType::generative, {8, 100}, 2.0},
               {"spellingbee", "SpellingBee", "test", EvalType::generative, {10, 100}, 2.0}};
  return run;
}

TEST(ChatEvalResults, ChatCoreOnlyWhenAllSixRan) {
  ChatEvalRun run = six_tasks();
  const double expected = ((0.4 - 0.25) / 0.75 + 0 + (0.31 - 0.25) / 0.75 + 0.05 + 0.08 + 0.10) / 6;
  ASSERT_TRUE(run.chat_core().has_value());
  EXPECT_NEAR(*run.chat_core(), expected, 1e-12);
  nlohmann::json json = nanochat::eval::chat_eval_json(run, "2026-12-01T12:00:00Z");
  EXPECT_NEAR(json["summary"]["ChatCORE"].get<double>(), expected, 1e-12);
  EXPECT_EQ(json["summary"].size(), 7u);
  EXPECT_NE(nanochat::eval::chat_eval_table(run).find("| ChatCORE "), std::string::npos);

  run.tasks.erase(run.tasks.begin() + 4);  // no HumanEval
  EXPECT_FALSE(run.chat_core().has_value());
  json = nanochat::eval::chat_eval_json(run, "");
  EXPECT_FALSE(json["summary"].contains("ChatCORE"));
  EXPECT_FALSE(json.contains("time"));
  EXPECT_EQ(nanochat::eval::chat_eval_table(run).find("ChatCORE"), std::string::npos);
}

TEST(ChatEvalResults, JsonHoldsTheContractFields) {
  const nlohmann::json json = nanochat::eval::chat_eval_json(six_tasks(), "2026-12-01T12:00:00Z");
  for (const char* key : {"source", "kind", "model_tag", "step", "max_problems", "num_samples", "seconds", "time",
                          "tasks", "summary"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_EQ(json["kind"], "chat");
  const auto& arc = json["tasks"][0];
  EXPECT_EQ(arc["name"], "arc-easy");
  EXPECT_EQ(arc["label"], "ARC-Easy");
  EXPECT_EQ(arc["items"], 100);
  EXPECT_DOUBLE_EQ(arc["accuracy"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(arc["centered"].get<double>(), 0.2);
  ChatEvalRun all = six_tasks();
  all.max_problems = -1;
  EXPECT_TRUE(nanochat::eval::chat_eval_json(all, "")["max_problems"].is_null());
}

TEST(ChatEvalResults, WritesTheFileAndNanochatsReportSection) {
  nanochat::test::ScratchDir dir;
  const auto file = nanochat::eval::write_chat_eval(dir.path, six_tasks(), {{"source", std::string("sft")}});
  EXPECT_EQ(file, dir.path / "eval" / "sft-chat.json");
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(file))["summary"]["MMLU"], 0.31);
  const std::string report = nanochat::test::read_text(dir.path / "report" / "chat-evaluation-sft.md");
  EXPECT_EQ(report.rfind("## Chat evaluation sft\ntimestamp: ", 0), 0u) << report;
  EXPECT_NE(report.find("- source: sft\n"), std::string::npos) << report;
  EXPECT_NE(report.find("- ARC-Easy: 0.4000\n"), std::string::npos) << report;
  EXPECT_NE(report.find("- ChatCORE metric: "), std::string::npos) << report;
  EXPECT_EQ(report.find('|'), std::string::npos) << "nanochat's report reads '- key: value' lines only";
}

}  // namespace

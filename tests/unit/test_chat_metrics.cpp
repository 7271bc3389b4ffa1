// nanochat's chat metrics (nanochat/chat_metrics.hpp): its names for the six tasks on their
// test splits, the baselines, centered accuracy, and ChatCORE only when all six are present.
#include "nanochat/chat_metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

TEST(ChatMetrics, NanochatNamesOnlyForItsTestSplits) {
  EXPECT_EQ(nanochat::chat_metric_label("arc-easy", "test", "arc-easy:test"), "ARC-Easy");
  EXPECT_EQ(nanochat::chat_metric_label("spellingbee", "test", "spellingbee=256:test"), "SpellingBee");
  EXPECT_EQ(nanochat::chat_metric_label("mmlu", "dev", "mmlu:dev"), "mmlu:dev");
  EXPECT_EQ(nanochat::chat_metric_label("simple-spelling", "test", "simple-spelling:test"), "simple-spelling:test");
  std::string defaults;
  for (const auto& spec : nanochat::parse_task_list(nanochat::kDefaultChatEvalTasks)) defaults += spec.name + " ";
  EXPECT_EQ(defaults, "arc-easy arc-challenge mmlu gsm8k humaneval spellingbee ");
}

TEST(ChatMetrics, CenteredAgainstOneInFourOrZero) {
  EXPECT_DOUBLE_EQ(nanochat::chat_baseline(nanochat::EvalType::categorical), 0.25);
  EXPECT_DOUBLE_EQ(nanochat::chat_baseline(nanochat::EvalType::generative), 0.0);
  EXPECT_DOUBLE_EQ(nanochat::centered_accuracy(0.25, 0.25), 0.0);
  EXPECT_DOUBLE_EQ(nanochat::centered_accuracy(1.0, 0.25), 1.0);
  EXPECT_DOUBLE_EQ(nanochat::centered_accuracy(0.4, 0.25), 0.2);
  EXPECT_DOUBLE_EQ(nanochat::centered_accuracy(0.1, 0.0), 0.1);
}

TEST(ChatMetrics, ChatCoreIsTheMeanOfAllSix) {
  std::map<std::string, double> centered = {{"ARC-Easy", 0.2}, {"ARC-Challenge", 0.1}, {"MMLU", 0.05},
                                            {"GSM8K", 0.04}, {"HumanEval", 0.08}, {"simple-spelling:test", 0.9}};
  EXPECT_FALSE(nanochat::chat_core(centered).has_value()) << "SpellingBee is missing";
  centered["SpellingBee"] = 0.13;
  ASSERT_TRUE(nanochat::chat_core(centered).has_value());
  EXPECT_DOUBLE_EQ(*nanochat::chat_core(centered), (0.2 + 0.1 + 0.05 + 0.04 + 0.08 + 0.13) / 6);
}

}  // namespace

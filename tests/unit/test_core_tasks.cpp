// The torch-free half of the CORE evaluation (stages/eval/core_tasks.*, core_prompts.*):
// the task table, items in nanochat's order, few-shot picks, prompts as core_eval.py's
// Jinja templates render them, token spans, cropping and centered accuracy. Expected
// values come from CPython and Jinja2 (bench/core/reference_core.py), written down here;
// tests/parity/test_core_parity.cpp checks every item of every task against them.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "core_prompts.hpp"
#include "core_tasks.hpp"
#include "nanochat/error.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat::eval;
using nanochat::TokenId;

namespace {

const CoreTaskSpec& task(const std::string& label) {
  for (const CoreTaskSpec& spec : core_task_table()) {
    if (spec.label == label) return spec;
  }
  throw std::runtime_error("no task " + label);
}

fs::path core_data() { return fs::path(NANOCHAT_TEST_SHARED_DIR) / "data"; }

#define REQUIRE_CORE_DATA()                                                                          \
  if (!fs::is_directory(core_data() / "eval_core") || !fs::is_directory(core_data() / "eval_hellaswag")) \
  GTEST_SKIP() << "no " << (core_data() / "eval_core").string() << " or eval_hellaswag (the shared data is not beside the checkout)"

TEST(CoreTaskTable, HoldsCoreYamlsTwentyTwoTasks) {
  const auto& table = core_task_table();
  ASSERT_EQ(table.size(), 22u);
  std::set<std::string> labels;
  for (const auto& spec : table) labels.insert(spec.label);
  EXPECT_EQ(labels.size(), 22u);
  EXPECT_EQ(std::string(table.front().label), "hellaswag_zeroshot");
  EXPECT_EQ(std::string(table.back().label), "bigbench_language_identification");
  EXPECT_EQ(task("jeopardy").type, CoreTaskType::language_modeling);
  EXPECT_EQ(task("jeopardy").shots, 10);
  EXPECT_EQ(std::string(task("jeopardy").delimiter), "\nAnswer: ");
  EXPECT_EQ(std::string(task("boolq").delimiter), "\nAnswer: ");
  EXPECT_EQ(std::string(task("copa").delimiter), " ");
  EXPECT_EQ(task("agi_eval_lsat_ar").shots, 3);
  EXPECT_EQ(task("winogrande").type, CoreTaskType::schema);
  EXPECT_EQ(task("hellaswag").shots, 10);
  EXPECT_EQ(task("hellaswag_zeroshot").shots, 0);
  int optional = 0;
  for (const auto& spec : table) optional += spec.optional;
  EXPECT_EQ(optional, 2);
  EXPECT_TRUE(task("squad").optional && task("coqa").optional);
}

TEST(CoreTaskTable, TheSharedDataHoldsTwentyTasksWithBaselines) {
  REQUIRE_CORE_DATA();
  const auto baselines = load_random_baselines(core_data() / "eval_core" / "eval_meta_data.csv");
  int present = 0;
  for (const auto& spec : core_task_table()) {
    const auto files = core_task_files(core_data(), spec);
    EXPECT_EQ(files.empty(), spec.optional) << spec.label;
    present += !files.empty();
    EXPECT_TRUE(baselines.count(spec.label)) << spec.label;
  }
  EXPECT_EQ(present, 20);
  EXPECT_EQ(core_task_files(core_data(), task("hellaswag")).size(), 3u);  // the three parts, in order
  EXPECT_DOUBLE_EQ(baselines.at("copa"), 50);
  EXPECT_DOUBLE_EQ(baselines.at("commonsense_qa"), 40.3);  // eval_meta_data.csv, not _v1's 20
  EXPECT_DOUBLE_EQ(baselines.at("boolq"), 62);
  EXPECT_DOUBLE_EQ(baselines.at("jeopardy"), 0);
}

TEST(CoreItems, ComeInNanochatsShuffledOrder) {
  REQUIRE_CORE_DATA();
  const auto copa = load_core_items(core_task_files(core_data(), task("copa")), CoreTaskType::multiple_choice);
  ASSERT_EQ(copa.size(), 100u);
  // random.Random(1337).shuffle(data) of copa.jsonl: data[0] and data[99].
  EXPECT_EQ(copa[0].context, "Political violence broke out in the nation, therefore");
  EXPECT_EQ(copa[0].gold, 1);
  EXPECT_EQ(copa[0].options.at(1), "many citizens took refuge in other territories.");
  EXPECT_EQ(copa[99].context, "The man's pocket jingled as he walked, because");

  EXPECT_EQ(load_core_items(core_task_files(core_data(), task("hellaswag")), CoreTaskType::multiple_choice).size(),
            10042u);
  const auto hellaswag =
      load_core_items(core_task_files(core_data(), task("hellaswag")), CoreTaskType::multiple_choice, 5);
  ASSERT_EQ(hellaswag.size(), 5u);
  EXPECT_EQ(hellaswag[0].context.rfind("Personal Care and Style: How to dress oneself and look good.", 0), 0u);
  EXPECT_EQ(hellaswag[0].gold, 2);
}

TEST(CoreItems, AMalformedLineIsNamed) {
  nanochat::test::ScratchDir scratch;
  const fs::path file = scratch.path / "bad.jsonl";
  nanochat::test::write_text(file, "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 3}\n");
  try {
    load_core_items({file}, CoreTaskType::multiple_choice, -1);
    FAIL() << "no error";
  } catch (const nanochat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gold"), std::string::npos) << e.what();
  }
}

TEST(CoreFewshot, DrawsAsPythonsRandomSample) {
  // random.Random(1234 + idx).sample([i for i in range(n) if i != idx], k) in CPython 3.11.
  EXPECT_EQ(core_fewshot_indices(3, 20, 10), (std::vector<size_t>{5, 13, 10, 8, 4, 6, 9, 17, 14, 7}));
  EXPECT_EQ(core_fewshot_indices(0, 100, 3), (std::vector<size_t>{57, 15, 1}));
  EXPECT_EQ(core_fewshot_indices(99, 100, 10), (std::vector<size_t>{62, 45, 80, 10, 31, 94, 60, 84, 33, 85}));
  EXPECT_EQ(core_fewshot_indices(5, 1000, 10), (std::vector<size_t>{77, 286, 467, 915, 26, 50, 105, 489, 494, 704}));
  EXPECT_TRUE(core_fewshot_indices(7, 10, 0).empty());
  EXPECT_THROW(core_fewshot_indices(0, 10, 10), nanochat::UsageError);  // 9 others for 10 shots
}

TEST(CorePrompts, RenderAsCoreEvalsTemplates) {
  // Jinja2's output for core_eval.py's templates on these items (reference_core.render).
  const CoreTaskSpec mc{"t", "f", CoreTaskType::multiple_choice, 2, "\nAnswer: ", false};
  const CoreItem q1{"Q1?", {"a", "b"}, "", 1}, q2{"Q2?", {"c", "d"}, "", 0};
  EXPECT_EQ(render_core_prompts(mc, q1, {&q2, &q2}),
            (std::vector<std::string>{"Q2?\nAnswer: c\n\nQ2?\nAnswer: c\n\nQ1?\nAnswer: a",
                                      "Q2?\nAnswer: c\n\nQ2?\nAnswer: c\n\nQ1?\nAnswer: b"}));
  const CoreTaskSpec schema{"t", "f", CoreTaskType::schema, 1, " ", false};
  const CoreItem s1{"", {"The cat", "The dog"}, "barked.", 1}, s2{"", {"A", "B"}, "ran.", 0};
  EXPECT_EQ(render_core_prompts(schema, s1, {&s2}),
            (std::vector<std::string>{"A ran.\n\nThe cat barked.", "A ran.\n\nThe dog barked."}));
  const CoreTaskSpec lm{"t", "f", CoreTaskType::language_modeling, 1, " ", false};
  const CoreItem l1{"  Capital of France:\xC2\xA0 ", {}, "Paris", 0}, l2{"\tx = \n", {}, "1", 0};
  EXPECT_EQ(render_core_prompts(lm, l1, {&l2}),
            (std::vector<std::string>{"x = 1\n\nCapital of France:", "x = 1\n\nCapital of France: Paris"}));
  const CoreTaskSpec lm_answer{"t", "f", CoreTaskType::language_modeling, 0, "\nAnswer: ", false};
  EXPECT_EQ(render_core_prompts(lm_answer, l1, {}),
            (std::vector<std::string>{"Capital of France:\nAnswer:", "Capital of France:\nAnswer: Paris"}));
}

TEST(CorePrompts, StripIsPythons) {
  EXPECT_EQ(python_strip(" \t\n\r\x0b\x0c\x1c\x1f a b \xC2\x85\xC2\xA0\xE3\x80\x80"), "a b");
  EXPECT_EQ(python_strip("\xE2\x80\xA8x\xE2\x80\xAF"), "x");  // U+2028, U+202F
  EXPECT_EQ(python_strip("\xE2\x80\x8Bx"), "\xE2\x80\x8Bx");  // U+200B is no space to Python
  EXPECT_EQ(python_strip("   "), "");
  EXPECT_EQ(python_strip(""), "");
}

TEST(CoreSequences, SpansAsBatchSequences) {
  using Seqs = std::vector<std::vector<TokenId>>;
  // Multiple choice: the common prefix ends where the options differ (here inside them).
  CoreSequences mc = core_sequences(CoreTaskType::multiple_choice, Seqs{{9, 1, 2, 3, 4}, {9, 1, 2, 3, 5, 6}});
  EXPECT_EQ(mc.start, (std::vector<size_t>{4, 4}));
  EXPECT_EQ(mc.end, (std::vector<size_t>{5, 6}));
  // Schema: the common suffix is the continuation.
  CoreSequences schema = core_sequences(CoreTaskType::schema, Seqs{{9, 1, 7, 8}, {9, 2, 3, 7, 8}});
  EXPECT_EQ(schema.start, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(schema.end, (std::vector<size_t>{4, 5}));
  // Language modelling: one sequence, scored after the prompt without the continuation.
  CoreSequences lm = core_sequences(CoreTaskType::language_modeling, Seqs{{9, 1, 2}, {9, 1, 2, 3, 4}});
  ASSERT_EQ(lm.tokens.size(), 1u);
  EXPECT_EQ(lm.tokens[0], (std::vector<TokenId>{9, 1, 2, 3, 4}));
  EXPECT_EQ(lm.start, (std::vector<size_t>{3}));
  EXPECT_EQ(lm.end, (std::vector<size_t>{5}));
  EXPECT_THROW(core_sequences(CoreTaskType::language_modeling, Seqs{{9, 1, 5}, {9, 1, 2, 3}}), nanochat::Error);
  EXPECT_EQ(common_length(Seqs{{1, 2, 3}, {1, 2, 3}}, false), 3u);
  EXPECT_EQ(common_length(Seqs{{1, 2, 3}, {0, 2, 3}}, true), 2u);
}

TEST(CoreSequences, CropDropsTheSameFrontFromEverySequence) {
  CoreSequences s{{{9, 1, 2, 3, 4, 5}, {9, 1, 2, 6}}, {4, 3}, {6, 4}};
  crop_core_sequences(s, 4);  // the longest is 2 over
  EXPECT_EQ(s.tokens[0], (std::vector<TokenId>{2, 3, 4, 5}));
  EXPECT_EQ(s.tokens[1], (std::vector<TokenId>{2, 6}));
  EXPECT_EQ(s.start, (std::vector<size_t>{2, 1}));
  EXPECT_EQ(s.end, (std::vector<size_t>{4, 2}));
  CoreSequences fits{{{9, 1, 2}}, {1}, {3}};
  crop_core_sequences(fits, 3);
  EXPECT_EQ(fits.tokens[0], (std::vector<TokenId>{9, 1, 2}));
  CoreSequences tight{{{9, 1, 2, 3}}, {1}, {4}};
  EXPECT_THROW(crop_core_sequences(tight, 3), nanochat::Error);  // the span itself does not fit
}

TEST(CoreScore, CenteredAccuracy) {
  EXPECT_DOUBLE_EQ(centered_accuracy(0.75, 50), 0.5);
  EXPECT_DOUBLE_EQ(centered_accuracy(0.25, 25), 0.0);
  EXPECT_DOUBLE_EQ(centered_accuracy(0.3, 0), 0.3);
  EXPECT_NEAR(centered_accuracy(0.62, 62), 0.0, 1e-15);
}

TEST(CoreScore, BaselinesFromQuotedCsv) {
  nanochat::test::ScratchDir scratch;
  const fs::path file = scratch.path / "meta.csv";
  nanochat::test::write_text(file, "Eval Task,Random baseline,Description\n"
                                   "a,25,\"has, commas and \"\"quotes\"\"\nand a line break\"\n"
                                   "b,40.3,x\r\n"
                                   "a,30,the last row wins\n");
  const auto baselines = load_random_baselines(file);
  EXPECT_EQ(baselines.size(), 2u);
  EXPECT_DOUBLE_EQ(baselines.at("a"), 30);
  EXPECT_DOUBLE_EQ(baselines.at("b"), 40.3);
  nanochat::test::write_text(file, "Eval Task,Random baseline\nc,n/a\n");
  EXPECT_THROW(load_random_baselines(file), nanochat::Error);
}

}  // namespace

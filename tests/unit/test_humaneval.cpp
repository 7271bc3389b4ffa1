// Task `humaneval` on the real data with the real sandbox: the 164 problems as nanochat
// builds them, every canonical solution scores 1, wrong and hostile completions score 0 and
// the evaluator goes on, code is taken from the first ```python block as nanochat does, and
// the sandbox's protections are logged once.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>

#include "nanochat/task.hpp"
#include "task_test_support.hpp"
#include "tokenizer_test_support.hpp"

using nanochat::TaskExample;
using nanochat::test::open_task;

namespace {

const std::string& text_of(const TaskExample& example, size_t message) {
  return example.conversation.messages.at(message).parts.at(0).text;
}

}  // namespace

TEST(HumanEval, TheProblemsAsNanochatBuildsThem) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  ASSERT_EQ(task->splits(), std::vector<std::string>{"test"});
  EXPECT_EQ(task->size("test"), 164u);
  EXPECT_EQ(task->eval_type(), nanochat::EvalType::generative);
  const TaskExample first = task->get("test", 0);
  const std::string& prompt = text_of(first, 0);
  EXPECT_EQ(prompt.rfind("from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:", 0), 0u);
  EXPECT_EQ(text_of(first, 1), prompt + "\n" + "    for idx, elem in enumerate(numbers):\n"
                                        "        for idx2, elem2 in enumerate(numbers):\n"
                                        "            if idx != idx2:\n"
                                        "                distance = abs(elem - elem2)\n"
                                        "                if distance < threshold:\n"
                                        "                    return True\n\n"
                                        "    return False\n");
}

TEST(HumanEval, EveryCanonicalSolutionScoresOne) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  const size_t count = task->size("test");
  const auto start = std::chrono::steady_clock::now();
  // Two threads, as an eval might run them (evaluate is safe to call concurrently).
  const auto score_half = [&](size_t first) {
    std::vector<size_t> failed;
    for (size_t i = first; i < count; i += 2) {
      const TaskExample example = task->get("test", i);
      if (task->evaluate(example, text_of(example, 1)) != 1.0) failed.push_back(i);
    }
    return failed;
  };
  auto other = std::async(std::launch::async, score_half, 1);
  std::vector<size_t> failed = score_half(0);
  for (size_t i : other.get()) failed.push_back(i);
  EXPECT_EQ(failed, std::vector<size_t>{}) << "canonical solutions that did not pass";
  std::cout << count << " canonical solutions checked in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
}

TEST(HumanEval, WrongCompletionsScoreZero) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  const TaskExample example = task->get("test", 0);
  EXPECT_EQ(task->evaluate(example, "def has_close_elements(numbers, threshold):\n    return False\n"), 0.0);
  EXPECT_EQ(task->evaluate(example, "I do not know."), 0.0);
  EXPECT_EQ(task->evaluate(example, ""), 0.0);
  EXPECT_EQ(task->evaluate(example, "import sys\nsys.exit(0)\n"), 0.0) << "exiting early is not passing";
}

TEST(HumanEval, CodeComesFromTheFirstPythonBlock) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  const TaskExample example = task->get("test", 0);
  const std::string right =
      "def has_close_elements(numbers, threshold):\n"
      "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j)";
  const std::string wrong = "def has_close_elements(numbers, threshold):\n    return True";
  EXPECT_EQ(task->evaluate(example, "Here you go:\n```python\n" + right + "\n```\nand a wrong one:\n```python\n" + wrong + "\n```"), 1.0);
  EXPECT_EQ(task->evaluate(example, "```python\n" + wrong + "\n```\n```python\n" + right + "\n```"), 0.0);
  EXPECT_EQ(task->evaluate(example, "```\n" + right + "\n```"), 1.0) << "a fence without a language";
  EXPECT_EQ(task->evaluate(example, right), 1.0) << "no fence: the whole completion";
}

TEST(HumanEval, AHostileCompletionScoresZeroAndTheEvaluatorGoesOn) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  const TaskExample example = task->get("test", 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(task->evaluate(example, "```python\nimport os\nwhile True:\n    os.fork()\n```"), 0.0);
  EXPECT_EQ(task->evaluate(example, "```python\nwhile True:\n    pass\n```"), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 15.0);
  EXPECT_EQ(task->evaluate(example, text_of(example, 1)), 1.0) << "the next completion is scored as usual";
}

TEST(HumanEval, LogsTheSandboxProtectionsOnce) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("humaneval", data);
  const TaskExample example = task->get("test", 0);
  testing::internal::CaptureStderr();
  task->evaluate(example, text_of(example, 1));
  task->evaluate(example, "wrong");
  const std::string log = testing::internal::GetCapturedStderr();
  const size_t first = log.find("humaneval: sandbox: ");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("humaneval: sandbox: ", first + 1), std::string::npos) << log;
  EXPECT_NE(log.find("unavailable: "), std::string::npos) << log;
  std::cout << log;
}

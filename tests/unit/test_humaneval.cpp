// Task `humaneval` on the real data with the real sandbox: the 164 problems as nanochat
// builds them, every canonical solution scores 1, wrong and hostile completions score 0 and
// the evaluator goes on, code is taken from the first ```python block as nanochat does, and
// the sandbox's protections are logged once; the code and import extraction against
// nanochat's Python on tricky inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>

#include "humaneval_program.hpp"
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

// Expected values from nanochat's extract_program and extract_imports (tasks/humaneval.py,
// Python 3.11's re), run on these very strings.
TEST(HumanEval, ExtractsCodeAndImportsAsNanochat) {
  const std::vector<std::pair<std::string, std::string>> code = {
      {"```python\nx = 1\n```", "x = 1"},
      {"text\n```\ny = 2\n```\nmore", "y = 2"},
      {"```python   \n\n  code\n```", "code"},
      {"```python\n```\nz\n```", "```\nz"},
      {"```pythonic\nq\n```", "```pythonic\nq\n```"},
      {"  no fence here  ", "no fence here"},
      {"```python\n\n```", ""},
      {"````python\na\n```", "a"},
      {"```py\nb\n```", "```py\nb\n```"},
      {"```python\r\nc\r\n```", "c"},
      {"```python\nfirst\n```\n```python\nsecond\n```", "first"},
      {"```python\nunclosed", "```python\nunclosed"},
  };
  for (const auto& [completion, expected] : code) {
    EXPECT_EQ(nanochat::humaneval::extract_code(completion), expected) << completion;
  }
  const std::vector<std::pair<std::string, std::string>> imports = {
      {"from typing import List\n\n\ndef f():\n    import os\n", "from typing import List"},
      {"# c\n  import math\n\nimport re  \ndef g(): pass\nimport sys", "import math\nimport re"},
      {"def h(): pass", ""},
      {"\n#!x\nfrom a import b", "from a import b"},
  };
  for (const auto& [prompt, expected] : imports) {
    EXPECT_EQ(nanochat::humaneval::extract_imports(prompt), expected) << prompt;
  }
  EXPECT_EQ(nanochat::humaneval::check_program("import math\ndef f():", "```python\ndef f(): return 1\n```",
                                               "def check(c): assert c() == 1", "f"),
            "import math\n\ndef f(): return 1\n\ndef check(c): assert c() == 1\ncheck(f)");
}

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

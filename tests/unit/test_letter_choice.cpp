// The synthetic `letter-choice` task (plugins/tasks/letter_choice): examples are fixed by
// split and index (the expected texts below were drawn with CPython's random.Random, see
// tests/oracles/task_oracle.py), rendered as ARC's multiple choice, the answer's letter uniform
// without an argument and fixed with one; reward = evaluate = the first non-whitespace
// character is the answer letter. Needs no shared data.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "nanochat/error.hpp"
#include "nanochat/task.hpp"
#include "nanochat/task_formats.hpp"
#include "task_test_support.hpp"

using nanochat::TaskExample;
using nanochat::UsageError;
using nanochat::test::open_task;

namespace {

const std::string& user_text(const TaskExample& example) { return example.conversation.messages.at(0).parts.at(0).text; }
const std::string& answer(const TaskExample& example) { return nanochat::last_part_text(example); }

std::string usage_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no usage error)";
}

// The task needs no data folder.
std::shared_ptr<nanochat::Task> letter_choice(const std::string& argument = "") {
  return open_task("letter-choice", "/nonexistent", argument);
}

}  // namespace

TEST(LetterChoice, RendersAsArcMultipleChoice) {
  const auto task = letter_choice();
  EXPECT_EQ(task->eval_type(), nanochat::EvalType::categorical);
  EXPECT_TRUE(task->has_evaluation());
  const TaskExample first = task->get("train", 0);
  EXPECT_EQ(user_text(first),
            "Multiple Choice question: Which of these is the word \"door\"?\n"
            "- hat=A\n- star=B\n- dog=C\n- door=D\n"
            "\nRespond only with the letter of the correct answer.");
  EXPECT_EQ(answer(first), "D");
  EXPECT_EQ(first.letters, (std::vector<std::string>{"A", "B", "C", "D"}));
  ASSERT_EQ(first.conversation.messages.size(), 2u);
  EXPECT_EQ(first.conversation.messages[1].role, "assistant");
  // The same text as the SDK's renderer that ARC and MMLU use.
  EXPECT_EQ(user_text(first), nanochat::render_multiple_choice("Which of these is the word \"door\"?", first.letters,
                                                               {"hat", "star", "dog", "door"}));
  const TaskExample test_first = task->get("test", 0);
  EXPECT_EQ(user_text(test_first),
            "Multiple Choice question: Which of these is the word \"leaf\"?\n"
            "- snow=A\n- star=B\n- leaf=C\n- rain=D\n"
            "\nRespond only with the letter of the correct answer.");
  EXPECT_EQ(answer(test_first), "C");
}

TEST(LetterChoice, AnIndexAlwaysGivesTheSameExample) {
  const auto task = letter_choice();
  const auto other = letter_choice();  // a second object: no state shared through the first
  for (size_t i : {0u, 1u, 7u, 9999u}) {
    EXPECT_EQ(user_text(task->get("train", i)), user_text(other->get("train", i))) << i;
    EXPECT_EQ(answer(task->get("train", i)), answer(other->get("train", i))) << i;
  }
  EXPECT_EQ(user_text(task->get("test", 999)), user_text(task->get("test", 999)));
  EXPECT_EQ(user_text(task->get("train", 1)),
            "Multiple Choice question: Which of these is the word \"rain\"?\n"
            "- tree=A\n- dog=B\n- sand=C\n- rain=D\n"
            "\nRespond only with the letter of the correct answer.");
  EXPECT_NE(user_text(task->get("train", 0)), user_text(task->get("train", 1)));
  EXPECT_NE(user_text(task->get("train", 0)), user_text(task->get("test", 0)));
  // 32 words give 3.4M arrangements: 100 examples are all different.
  std::set<std::string> train, test;
  for (size_t i = 0; i < 100; ++i) {
    train.insert(user_text(task->get("train", i)));
    test.insert(user_text(task->get("test", i)));
  }
  EXPECT_EQ(train.size(), 100u);
  EXPECT_EQ(test.size(), 100u);
}

TEST(LetterChoice, TheAnswerLetterIsUniformWithoutArgumentAndFixedWithOne) {
  const auto uniform = letter_choice();
  const auto at_c = letter_choice("C");
  std::map<std::string, int> counts;
  for (size_t i = 0; i < 4000; ++i) {
    const TaskExample example = uniform->get("train", i);
    ++counts[answer(example)];
    // Four distinct words; the answer's choice is the word the question names.
    const std::string& text = user_text(example);
    const size_t quote = text.find('"') + 1;
    const std::string word = text.substr(quote, text.find('"', quote) - quote);
    EXPECT_NE(text.find("- " + word + "=" + answer(example) + "\n"), std::string::npos) << text;
    std::set<std::string> choices;
    for (size_t at = text.find("\n- "); at != std::string::npos; at = text.find("\n- ", at + 1)) {
      choices.insert(text.substr(at + 3, text.find('=', at) - at - 3));
    }
    EXPECT_EQ(choices.size(), 4u) << text;

    const TaskExample fixed = at_c->get("train", i);
    EXPECT_EQ(answer(fixed), "C");
    EXPECT_NE(user_text(fixed).find("- " + word + "=C\n"), std::string::npos) << "the same target, moved to C";
  }
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [letter, n] : counts) {
    // 1,000 expected, standard deviation 27: CPython's draws give 984, 984, 1043, 989.
    EXPECT_GT(n, 900) << letter;
    EXPECT_LT(n, 1100) << letter;
  }
  for (const char* letter : {"A", "B", "D"}) EXPECT_EQ(answer(letter_choice(letter)->get("test", 5)), letter);
}

TEST(LetterChoice, RewardIsTheFirstNonWhitespaceCharacter) {
  const auto task = letter_choice("C");
  const TaskExample example = task->get("train", 0);
  ASSERT_EQ(answer(example), "C");
  const std::vector<std::pair<std::string, double>> cases = {
      {"C", 1}, {" C", 1}, {"C.", 1}, {"\n\tC) door", 1}, {"C D", 1},  // what follows the letter does not matter
      {"c", 0}, {"", 0},   {"   ", 0}, {"D", 0},           {"D C", 0}, {"door", 0}, {".C", 0},
  };
  for (const auto& [completion, expected] : cases) {
    EXPECT_EQ(task->evaluate(example, completion), expected) << "'" << completion << "'";
    EXPECT_EQ(task->reward(example, completion), expected) << "'" << completion << "'";
  }
  // The categorical evaluation scores the chosen letter alone: only the answer's passes.
  for (const std::string& letter : example.letters) EXPECT_EQ(task->evaluate(example, letter), letter == "C" ? 1 : 0);
}

TEST(LetterChoice, SplitSizesAndBadArguments) {
  const auto task = letter_choice();
  EXPECT_EQ(task->splits(), (std::vector<std::string>{"train", "test"}));
  EXPECT_EQ(task->size("train"), 10000u);
  EXPECT_EQ(task->size("test"), 1000u);
  EXPECT_NE(usage_error_of([&] { task->get("train", 10000); }).find("past the end"), std::string::npos);
  EXPECT_NE(usage_error_of([&] { task->get("test", 1000); }).find("past the end"), std::string::npos);
  EXPECT_NE(usage_error_of([&] { task->size("dev"); }).find("has no split 'dev' (splits: train, test)"),
            std::string::npos);
  for (const char* bad : {"E", "c", "AB", "1", " C", "C "}) {
    const std::string message = usage_error_of([&] { letter_choice(bad); });
    EXPECT_NE(message.find("A, B, C or D (letter-choice=C), or none"), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find(std::string("not '") + bad + "'"), std::string::npos) << message;
  }
}

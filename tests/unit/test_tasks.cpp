// Each task plugin on the real shared data: split sizes, known examples, evaluate() on
// known-right and known-wrong completions; and bad input: a broken line names the file and
// line, a conversation out of turn is refused with its index, bad arguments and splits are
// usage errors.
#include <gtest/gtest.h>

#include <fstream>

#include "nanochat/error.hpp"
#include "nanochat/task.hpp"
#include "nanochat/task_formats.hpp"
#include "task_test_support.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using nanochat::Error;
using nanochat::MessagePart;
using nanochat::TaskExample;
using nanochat::UsageError;
using nanochat::test::open_task;

namespace {

template <class Exception = Error>
std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Exception& e) {
    return e.what();
  }
  return "(no exception)";
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

const std::string& user_text(const TaskExample& example) { return example.conversation.messages.at(0).parts.at(0).text; }

}  // namespace

TEST(Tasks, SplitSizesAreTheDatasets) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const std::vector<std::tuple<std::string, std::string, size_t>> sizes = {
      {"gsm8k", "train", 7473},       {"gsm8k", "test", 1319},          {"arc-easy", "train", 2251},
      {"arc-easy", "dev", 570},       {"arc-easy", "test", 2376},       {"arc-challenge", "train", 1119},
      {"arc-challenge", "dev", 299},  {"arc-challenge", "test", 1172},  {"mmlu", "dev", 285},
      {"mmlu", "test", 14042},        {"identity", "all", 996},         {"identity", "test", 50},
      {"identity", "train", 946},     {"oasst", "all", 100},            {"oasst", "test", 5},
      {"alpaca", "all", 1000},        {"alpaca", "train", 950},         {"spellingbee", "train", 1000},
      {"spellingbee", "test", 1000},  {"simple-spelling", "train", 1000}};
  for (const auto& [task, split, size] : sizes) EXPECT_EQ(open_task(task, data)->size(split), size) << task << ":" << split;
  // hh-rlhf: the 6,240 helpful transcripts less the 12 whose turns do not alternate or hold
  // an empty turn (10 and 2, counted with Python's re.split on the files).
  const auto hh = open_task("hh-rlhf", data);
  EXPECT_EQ(hh->size("all"), 6228u);
  EXPECT_EQ(hh->size("test"), 312u);
  EXPECT_EQ(hh->size("train") + hh->size("test"), hh->size("all"));
}

TEST(Tasks, Gsm8kCalculatorSpansBecomePythonCalls) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("gsm8k", data);
  const TaskExample example = task->get("test", 1);
  EXPECT_EQ(user_text(example), "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?");
  const auto& parts = example.conversation.messages.at(1).parts;
  ASSERT_EQ(parts.size(), 7u);
  EXPECT_EQ(parts[0].text, "It takes 2/2=");
  EXPECT_EQ(parts[1].type, MessagePart::Type::python);
  EXPECT_EQ(parts[1].text, "2/2");
  EXPECT_EQ(parts[2].type, MessagePart::Type::python_output);
  EXPECT_EQ(parts[2].text, "1");
  EXPECT_EQ(parts[3].text, "1 bolt of white fiber\nSo the total amount of fabric is 2+1=");
  EXPECT_EQ(parts[4].text, "2+1");
  EXPECT_EQ(parts[6].text, "3 bolts of fabric\n#### 3");
  EXPECT_EQ(task->eval_type(), nanochat::EvalType::generative);
  EXPECT_EQ(task->evaluate(example, "It takes 1 bolt... so 3 in all.\n#### 3"), 1.0);
  EXPECT_EQ(task->evaluate(example, "#### 4"), 0.0);
  EXPECT_EQ(task->evaluate(example, "the answer is 3"), 0.0);
  EXPECT_EQ(task->reward(example, "#### 3"), 1.0);
  EXPECT_EQ(task->reward(example, "#### 30"), 0.0);
}

TEST(Tasks, FinalAnswerIsTheFirstNumberAfterFourHashes) {
  EXPECT_EQ(nanochat::extract_final_answer("so #### -1,234.5 done"), "-1234.5");
  EXPECT_EQ(nanochat::extract_final_answer("##### 5"), "5");
  EXPECT_EQ(nanochat::extract_final_answer("#### x then #### 3 and #### 4"), "3");
  EXPECT_EQ(nanochat::extract_final_answer("####  3"), std::nullopt);
  EXPECT_EQ(nanochat::extract_final_answer("#### -"), std::nullopt);
  EXPECT_EQ(nanochat::extract_final_answer("no answer"), std::nullopt);
}

TEST(Tasks, ArcIsMultipleChoiceWithTheDatasetsLabels) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("arc-easy", data);
  const TaskExample first = task->get("train", 0);
  EXPECT_EQ(user_text(first),
            "Multiple Choice question: Which factor will most likely cause a person to develop a fever?\n"
            "- a leg muscle relaxing after exercise=A\n- a bacterial population in the bloodstream=B\n"
            "- several viral particles on the skin=C\n- carbohydrates being digested in the stomach=D\n"
            "\nRespond only with the letter of the correct answer.");
  EXPECT_EQ(first.letters, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(task->eval_type(), nanochat::EvalType::categorical);
  EXPECT_EQ(task->evaluate(first, "B"), 1.0);
  EXPECT_EQ(task->evaluate(first, "A"), 0.0);
  EXPECT_EQ(task->evaluate(first, " B"), 0.0);
  const TaskExample numeric = task->get("train", 4);
  EXPECT_EQ(numeric.letters, (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(task->evaluate(numeric, "3"), 1.0);
  EXPECT_EQ(task->get("train", 289).letters.size(), 3u);
  EXPECT_EQ(open_task("arc-challenge", data)->eval_type(), nanochat::EvalType::categorical);
}

TEST(Tasks, MmluReadsQuotedCsvFields) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("mmlu", data);
  const TaskExample third = task->get("test", 2);  // abstract_algebra, the first subject
  EXPECT_EQ(user_text(third),
            "Multiple Choice question: Find all zeros in the indicated finite field of the given polynomial with "
            "coefficients in that field. x^5 + 3x^3 + x^2 + 2x in Z_5\n- 0=A\n- 1=B\n- 0,1=C\n- 0,4=D\n"
            "\nRespond only with the letter of the correct answer.");
  EXPECT_EQ(task->evaluate(third, "D"), 1.0);
  EXPECT_EQ(task->evaluate(third, "C"), 0.0);
  EXPECT_EQ(third.letters, (std::vector<std::string>{"A", "B", "C", "D"}));
}

TEST(Tasks, ChatSetsHaveNoEvaluation) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  for (const char* name : {"identity", "oasst", "hh-rlhf", "alpaca"}) {
    const auto task = open_task(name, data);
    EXPECT_FALSE(task->has_evaluation()) << name;
    const TaskExample example = task->get("train", 0);
    const std::string message = error_of<UsageError>([&] { task->evaluate(example, "anything"); });
    EXPECT_NE(message.find(std::string("task ") + name + " has no evaluation"), std::string::npos) << message;
    for (size_t i = 0; i < task->size("all"); ++i) nanochat::check_chat_roles(task->get("all", i).conversation);
  }
}

TEST(Tasks, ConvertersKeepTheAssistantLast) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  for (const char* name : {"oasst", "hh-rlhf", "alpaca"}) {
    const auto task = open_task(name, data);
    for (size_t i = 0; i < task->size("all"); ++i) {
      EXPECT_EQ(task->get("all", i).conversation.messages.back().role, "assistant") << name << " #" << i;
    }
  }
  const auto oasst = open_task("oasst", data);
  EXPECT_EQ(user_text(oasst->get("all", 0)), "How can I find the best 401k plan for my needs?");
  // alpaca folds a non-empty input into the user turn.
  const auto alpaca = open_task("alpaca", data);
  size_t folded = 0;
  for (size_t i = 0; i < alpaca->size("all"); ++i) folded += user_text(alpaca->get("all", i)).find("\n\n") != std::string::npos;
  EXPECT_GT(folded, 350u);
}

TEST(Tasks, SpellingBeeCountsWithPythonAndAnswersWithFourHashes) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("spellingbee", data, "300");
  EXPECT_EQ(task->size("train"), 300u);
  EXPECT_EQ(task->size("test"), 300u);
  for (size_t i = 0; i < 300; ++i) {
    const TaskExample example = task->get("train", i);
    const auto& parts = example.conversation.messages.at(1).parts;
    ASSERT_EQ(parts.size(), 5u);
    EXPECT_EQ(parts[2].type, MessagePart::Type::python);
    const std::string answer = "#### " + parts[3].text;
    EXPECT_EQ(task->evaluate(example, "so " + answer), 1.0) << parts[4].text;
    EXPECT_EQ(task->evaluate(example, "#### " + std::to_string(std::stoi(parts[3].text) + 1)), 0.0);
  }
  EXPECT_NE(user_text(task->get("train", 0)), user_text(task->get("test", 0)));
  EXPECT_EQ(user_text(task->get("test", 7)), user_text(task->get("test", 7))) << "examples are reproducible";
}

TEST(Tasks, SimpleSpellingSpellsTheWord) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = open_task("simple-spelling", data);
  const TaskExample example = task->get("train", 3);
  const std::string word = user_text(example).substr(std::string("Spell the word: ").size());
  std::string spelled;
  for (char c : word) spelled += std::string(spelled.empty() ? "" : ",") + c;
  EXPECT_EQ(nanochat::last_part_text(example), word + ":" + spelled);
  EXPECT_EQ(task->evaluate(example, word + ":" + spelled), 1.0);
  EXPECT_EQ(task->evaluate(example, word + ":" + spelled + ","), 0.0);
}

TEST(Tasks, SpellingArgumentIsAPositiveCount) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  for (const char* bad : {"0", "abc", "-5", "20000000"}) {
    const std::string message = error_of<UsageError>([&] { open_task("spellingbee", data, bad); });
    EXPECT_NE(message.find("number of examples per split"), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(error_of<UsageError>([&] { open_task("gsm8k", data, "x"); }).find("takes no =argument"), std::string::npos);
}

TEST(Tasks, UnknownSplitsAndIndicesAreUsageErrors) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  for (const nanochat::TaskInfo& info : nanochat::kTaskTable) {
    const std::string argument = std::string(info.argument) == "PATH"
                                     ? (data / "sft_identity_nanochat/identity_conversations.jsonl").string()
                                     : "";
    const auto task = open_task(info.name, data, argument);
    const std::string message = error_of<UsageError>([&] { task->size("validation"); });
    EXPECT_NE(message.find(std::string("task ") + info.name + " has no split 'validation' (splits: "), std::string::npos)
        << message;
    const std::string split = task->splits().front();
    EXPECT_NE(error_of<UsageError>([&] { task->get(split, task->size(split)); }).find("past the end"), std::string::npos)
        << info.name;
  }
}

TEST(Tasks, ChatJsonlReadsFilesAndFolders) {
  nanochat::test::ScratchDir scratch;
  write_file(scratch.path / "chats.jsonl",
             R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])" "\n\n"
             R"({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": [{"type": "python", "text": "2+2"}, {"type": "python_output", "text": "4"}, {"type": "text", "text": "4"}]}]})" "\n"
             R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}])" "\n");
  const auto file = open_task("chat-jsonl", scratch.path, (scratch.path / "chats.jsonl").string());
  EXPECT_EQ(file->size("all"), 3u);
  EXPECT_EQ(file->size("train"), 2u);
  EXPECT_EQ(file->size("test"), 1u);
  EXPECT_EQ(file->get("all", 1).conversation.messages.at(0).role, "system");
  // A relative path is found in the task data folder too.
  EXPECT_EQ(open_task("chat-jsonl", scratch.path, "chats.jsonl")->size("all"), 3u);

  write_file(scratch.path / "folder/train.jsonl", R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])" "\n");
  write_file(scratch.path / "folder/val.jsonl", "");
  write_file(scratch.path / "folder/README.md", "not a split");
  const auto folder = open_task("chat-jsonl", scratch.path, (scratch.path / "folder").string());
  EXPECT_EQ(folder->splits(), (std::vector<std::string>{"train", "val"}));
  EXPECT_EQ(folder->size("val"), 0u);

  EXPECT_NE(error_of<UsageError>([&] { open_task("chat-jsonl", scratch.path); }).find("chat-jsonl=PATH"), std::string::npos);
  EXPECT_NE(error_of([&] { open_task("chat-jsonl", scratch.path, "missing.jsonl"); }).find("does not exist"),
            std::string::npos);
}

TEST(Tasks, ABrokenLineNamesTheFileAndLine) {
  nanochat::test::ScratchDir scratch;
  const fs::path file = scratch.path / "chats.jsonl";
  write_file(file, R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])" "\n"
                   R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hel)" "\n");
  std::string message = error_of([&] { open_task("chat-jsonl", scratch.path, file.string()); });
  EXPECT_NE(message.find(file.string() + ":2: not valid JSON"), std::string::npos) << message;

  // Built-in tasks too: a data folder whose gsm8k train file is broken on line 3.
  write_file(scratch.path / "eval_gsm8k/train.jsonl",
             "{\"question\": \"q\", \"answer\": \"a\\n#### 1\"}\n\n{\"question\": \"q\"}\n");
  write_file(scratch.path / "eval_gsm8k/test.jsonl", "");
  message = error_of([&] { open_task("gsm8k", scratch.path); });
  EXPECT_NE(message.find("eval_gsm8k/train.jsonl:3: no string \"answer\""), std::string::npos) << message;

  write_file(scratch.path / "eval_mmlu/dev/x_dev.csv", "question,choice0,choice1,choice2,choice3,answer\n"
                                                      "\"q, with a comma\",a,b,c,d,0\nq,a,b,c,d,7\n");
  message = error_of([&] { open_task("mmlu", scratch.path); });
  EXPECT_NE(message.find("x_dev.csv:3: the answer '7' is not an index 0-3"), std::string::npos) << message;
  write_file(scratch.path / "eval_mmlu/dev/x_dev.csv", "question,choice0,choice1,choice2,choice3,answer\n"
                                                      "\"a question\nover two lines\",a,b,c,d,0\nq,a,b,c,0\n");
  message = error_of([&] { open_task("mmlu", scratch.path); });
  EXPECT_NE(message.find("x_dev.csv:4: 5 fields, expected 6"), std::string::npos) << message;
  write_file(scratch.path / "eval_mmlu/dev/x_dev.csv", "question,choice0,choice1,choice2,choice3,answer\n\"q,a,b,c,d,0\n");
  message = error_of([&] { open_task("mmlu", scratch.path); });
  EXPECT_NE(message.find("x_dev.csv:2: a quoted field is never closed"), std::string::npos) << message;
}

TEST(Tasks, AConversationOutOfTurnIsRefusedWithItsIndex) {
  nanochat::test::ScratchDir scratch;
  const fs::path file = scratch.path / "chats.jsonl";
  write_file(file, R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])" "\n\n"
                   R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])" "\n");
  std::string message = error_of([&] { open_task("chat-jsonl", scratch.path, file.string()); });
  EXPECT_NE(message.find(file.string() + ":3: conversation 1: message 1 is from 'user' but should be from 'assistant'"),
            std::string::npos)
      << message;
  write_file(file, R"([{"role": "user", "content": "only a question"}])" "\n");
  message = error_of([&] { open_task("chat-jsonl", scratch.path, file.string()); });
  EXPECT_NE(message.find(":1: conversation 0: a conversation needs a user and an assistant message"), std::string::npos)
      << message;
}

TEST(Tasks, MissingDataSaysWhereItLookedAndHowToPointElsewhere) {
  const std::string message = error_of([&] { open_task("arc-easy", "/nonexistent/data"); });
  EXPECT_NE(message.find("/nonexistent/data/eval_arc/ARC-Easy/ARC-Easy-Train.jsonl does not exist"), std::string::npos)
      << message;
  EXPECT_NE(message.find("--task-data-dir"), std::string::npos) << message;
}

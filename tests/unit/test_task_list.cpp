// Task lists: the grammar, opening specs through the plugin registry (a task that is not
// installed lists the installed ones; unknown splits and slices past the end are refused),
// and TaskMixture's order against a Python random.Random oracle of nanochat's TaskMixture.
#include <gtest/gtest.h>

#include <cstdlib>

#include "nanochat/error.hpp"
#include "nanochat/subprocess.hpp"
#include "nanochat/task.hpp"
#include "task_test_support.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using nanochat::TaskSpec;
using nanochat::UsageError;

namespace {

std::string usage_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

void run_task_oracle(const fs::path& python, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {python.string(),
                                   (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/oracles/task_oracle.py").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSERT_EQ(nanochat::run_process(argv), 0) << "task_oracle.py " << args.at(0) << " failed";
}

}  // namespace

TEST(TaskList, ParsesEveryPartOfTheGrammar) {
  const auto specs = nanochat::parse_task_list(
      " gsm8k , mmlu:test[:5200],identity*2, chat-jsonl=/data/my chats.jsonl:train[10:20]*3,spellingbee=80000");
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].name, "gsm8k");
  EXPECT_EQ(specs[0].split, "");
  EXPECT_EQ(specs[0].repeat, 1);
  EXPECT_EQ(specs[0].stop, -1);
  EXPECT_EQ(specs[1].name, "mmlu");
  EXPECT_EQ(specs[1].split, "test");
  EXPECT_EQ(specs[1].start, 0);
  EXPECT_EQ(specs[1].stop, 5200);
  EXPECT_EQ(specs[2].name, "identity");
  EXPECT_EQ(specs[2].repeat, 2);
  EXPECT_EQ(specs[3].name, "chat-jsonl");
  EXPECT_EQ(specs[3].argument, "/data/my chats.jsonl");
  EXPECT_EQ(specs[3].split, "train");
  EXPECT_EQ(specs[3].start, 10);
  EXPECT_EQ(specs[3].stop, 20);
  EXPECT_EQ(specs[3].repeat, 3);
  EXPECT_EQ(specs[4].argument, "80000");
  EXPECT_EQ(specs[4].split, "");
}

TEST(TaskList, FormatsWhatItParses) {
  for (const std::string text : {"gsm8k", "mmlu:test[:5200]", "identity*2", "chat-jsonl=a/b.jsonl:train[10:20]*3",
                                 "spellingbee=80000:test", "arc-easy[5:]"}) {
    const auto specs = nanochat::parse_task_list(text);
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(nanochat::format_task_spec(specs[0]), text);
  }
}

TEST(TaskList, RefusesBadSyntaxNamingTheItem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty task"},
      {"gsm8k,,mmlu", "empty task"},
      {"GSM8K", "not a task name"},
      {"gsm8k*0", "1 or more"},
      {"gsm8k*two", "not a non-negative integer"},
      {"gsm8k*2:train", "not a non-negative integer"},
      {"gsm8k[5:2]", "before its start"},
      {"gsm8k[a:9]", "not a non-negative integer"},
      {"gsm8k[3]", "[start:stop]"},
      {"gsm8k=", "nothing after '='"},
      {"gsm8k:", "not a split name"},
      {"chat-jsonl=/a:b/c.jsonl", "explicit :split"},
      {"=x", "not a task name"},
  };
  for (const auto& [text, why] : cases) {
    const std::string message = usage_error_of([&] { nanochat::parse_task_list(text); });
    EXPECT_NE(message.find(why), std::string::npos) << "'" << text << "' gave: " << message;
    EXPECT_NE(message.find("name[=argument][:split]"), std::string::npos) << message;
  }
}

TEST(TaskList, ATaskThatIsNotInstalledListsTheInstalledOnes) {
  nanochat::test::use_build_plugins();
  const std::string message = usage_error_of(
      [] { nanochat::open_tasks(nanochat::parse_task_list("gsm8k,smoltalk"), "/nonexistent", "train"); });
  EXPECT_NE(message.find("no task plugin named 'smoltalk'"), std::string::npos) << message;
  for (const nanochat::TaskInfo& info : nanochat::kTaskTable) {
    EXPECT_NE(message.find(info.name), std::string::npos) << info.name << " missing from: " << message;
  }
}

TEST(TaskList, OpensSplitsSlicesAndRepeats) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  nanochat::test::use_build_plugins();
  const auto refs =
      nanochat::open_tasks(nanochat::parse_task_list("gsm8k,gsm8k:test[:420],identity:all*2,arc-easy:dev[500:]"), data,
                           "train");
  ASSERT_EQ(refs.size(), 5u);
  EXPECT_EQ(refs[0].split, "train");
  EXPECT_EQ(refs[0].size(), 7473u);
  EXPECT_EQ(refs[1].size(), 420u);
  EXPECT_EQ(refs[1].label(), "gsm8k:test[:420]");
  EXPECT_EQ(refs[0].task, refs[1].task) << "one task object per name and argument";
  EXPECT_EQ(refs[2].task, refs[3].task);
  EXPECT_EQ(refs[3].size(), 996u);
  EXPECT_EQ(refs[4].size(), 70u);  // ARC-Easy dev has 570
  const auto sliced = refs[4].get(0).conversation.messages[0].parts[0].text;
  EXPECT_EQ(sliced, refs[4].task->get("dev", 500).conversation.messages[0].parts[0].text);
  EXPECT_THROW(refs[1].get(420), UsageError);

  // No split named: "" takes each task's first split.
  const auto first = nanochat::open_tasks(nanochat::parse_task_list("mmlu"), data, "");
  EXPECT_EQ(first.at(0).split, "dev");
}

TEST(TaskList, RefusesUnknownSplitsAndSlicesPastTheEnd) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  nanochat::test::use_build_plugins();
  std::string message = usage_error_of([&] { nanochat::open_tasks(nanochat::parse_task_list("mmlu"), data, "train"); });
  EXPECT_NE(message.find("task mmlu has no split 'train' (splits: dev, test)"), std::string::npos) << message;
  message = usage_error_of([&] { nanochat::open_tasks(nanochat::parse_task_list("gsm8k:test[:5000]"), data, ""); });
  EXPECT_NE(message.find("up to 5000"), std::string::npos) << message;
  EXPECT_NE(message.find("has 1319"), std::string::npos) << message;
}

TEST(TaskMixture, OrderEqualsPythonsShuffleOfNanochatsIndexMap) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  NANOCHAT_REQUIRE_ORACLE(python);
  nanochat::test::use_build_plugins();
  const auto parts = nanochat::open_tasks(
      nanochat::parse_task_list("arc-easy,gsm8k[:3000],identity:all*2,simple-spelling=3000,spellingbee=800,mmlu:dev"),
      data, "train");
  size_t total = 0;
  std::vector<std::string> lengths;
  for (const auto& part : parts) {
    total += part.size();
    lengths.push_back(std::to_string(part.size()));
  }
  nanochat::test::ScratchDir scratch;
  for (uint64_t seed : {42, 7}) {
    std::vector<std::string> args = {"mixture", std::to_string(seed)};
    args.insert(args.end(), lengths.begin(), lengths.end());
    args.push_back((scratch.path / "order").string());
    run_task_oracle(python, args);
    const auto expected = nanochat::test::read_int_lines(scratch.path / "order");
    const nanochat::TaskMixture mixture(parts, seed);
    ASSERT_EQ(mixture.size(), total) << "a mixture holds every example of every part";
    ASSERT_EQ(expected.size(), total);
    size_t differ = 0;
    for (size_t i = 0; i < total; ++i) {
      const auto where = mixture.locate(i);
      if (static_cast<int64_t>(where.part) != expected[i].at(0) || static_cast<int64_t>(where.index) != expected[i].at(1)) {
        ++differ;
      }
    }
    EXPECT_EQ(differ, 0u) << "seed " << seed;
  }
  const nanochat::TaskMixture a(parts, 42), b(parts, 7);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    same += a.locate(i).part == b.locate(i).part && a.locate(i).index == b.locate(i).index;
  }
  EXPECT_LT(same, a.size() / 10) << "another seed gives another order";
  // get() is the located part's example.
  for (size_t i : {size_t{0}, a.size() / 2, a.size() - 1}) {
    const auto where = a.locate(i);
    EXPECT_EQ(a.get(i).conversation.messages[0].parts[0].text,
              parts[where.part].get(where.index).conversation.messages[0].parts[0].text);
  }
  EXPECT_THROW(a.locate(a.size()), nanochat::Error);
}

TEST(TaskSequence, PartsOneAfterTheOther) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  nanochat::test::use_build_plugins();
  const auto parts = nanochat::open_tasks(nanochat::parse_task_list("gsm8k:test[:5],identity:test,mmlu:dev[:3]"), data, "");
  const nanochat::TaskSequence sequence(parts);
  ASSERT_EQ(sequence.size(), 5u + 50u + 3u);
  size_t i = 0;
  for (size_t part = 0; part < parts.size(); ++part) {
    for (size_t index = 0; index < parts[part].size(); ++index, ++i) {
      const auto where = sequence.locate(i);
      EXPECT_EQ(where.part, part);
      EXPECT_EQ(where.index, index);
    }
  }
  EXPECT_EQ(sequence.get(5).conversation.messages[0].parts[0].text,
            parts[1].get(0).conversation.messages[0].parts[0].text);
  EXPECT_THROW(sequence.locate(sequence.size()), nanochat::Error);
}

TEST(TaskDataDir, EnvironmentFirst) {
  const char* old = std::getenv("NANOCHAT_DATA_DIR");
  const std::string saved = old ? old : "";
  setenv("NANOCHAT_DATA_DIR", "/somewhere/data", 1);
  EXPECT_EQ(nanochat::default_task_data_dir(), fs::path("/somewhere/data"));
  unsetenv("NANOCHAT_DATA_DIR");
  const fs::path fallback = nanochat::default_task_data_dir();
  EXPECT_EQ(fallback.filename(), "data");
  EXPECT_EQ(fallback.parent_path().filename(), "shared");
  if (old) setenv("NANOCHAT_DATA_DIR", saved.c_str(), 1);
}

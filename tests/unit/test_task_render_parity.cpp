// Rendering parity: every example of every split of every task plugin, rendered by our
// render_conversation with a small trained tokenizer, gives the ids and loss mask that
// tests/oracles/task_oracle.py gets on its own: it builds the examples from the same files by
// restating nanochat's tasks (and our converters) in Python and renders them with a
// restatement of nanochat's render_conversation over tiktoken given our saved tokenizer.
#include <gtest/gtest.h>

#include <fstream>

#include "bpe_tokenizer.hpp"
#include "nanochat/subprocess.hpp"
#include "nanochat/task.hpp"
#include "task_test_support.hpp"
#include "tokenizer_test_support.hpp"

#include "../integration/host_process.hpp"

namespace fs = std::filesystem;

namespace {

// A 2,048-token vocabulary from 2M characters of Gutenberg (the merges matter, not the size).
nanochat::bpe::BpeTokenizer trained_tokenizer(const fs::path& data) {
  nanochat::CorpusOptions options;
  options.max_chars = 2'000'000;
  nanochat::CorpusReader reader(data / "pretrain_gutenberg", options);
  nanochat::bpe::BpeTokenizer tokenizer;
  tokenizer.train(reader, {2048, 0, ""});
  return tokenizer;
}

// "ids\tmask" as ours would be written by the oracle.
std::string rendered_line(const nanochat::RenderedConversation& rendered) {
  std::string line;
  for (size_t i = 0; i < rendered.ids.size(); ++i) line += (i ? " " : "") + std::to_string(rendered.ids[i]);
  line += '\t';
  for (uint8_t m : rendered.mask) line += static_cast<char>('0' + m);
  return line;
}

}  // namespace

TEST(TaskRenderParity, EveryExampleOfEveryTaskMatchesThePythonOracle) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  NANOCHAT_REQUIRE_ORACLE(python);
  nanochat::test::ScratchDir scratch;
  const auto tokenizer = trained_tokenizer(data);
  tokenizer.save(scratch.path / "tok");

  size_t total = 0, tokens = 0;
  for (const auto& [name, argument, split] : nanochat::test::every_task_split(data)) {
    const fs::path out = scratch.path / (name + "." + split);
    std::vector<std::string> argv = {python.string(),
                                     (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/oracles/task_oracle.py").string(),
                                     "render", data.string(), (scratch.path / "tok").string(), name, split,
                                     out.string()};
    if (!argument.empty()) argv.insert(argv.end(), {"--argument", argument});
    ASSERT_EQ(nanochat::run_process(argv), 0) << "task_oracle.py render " << name << " " << split;

    const auto task = nanochat::test::open_task(name, data, argument);
    std::ifstream expected(out);
    std::string line;
    size_t n = 0, misses = 0;
    for (; std::getline(expected, line); ++n) {
      ASSERT_LT(n, task->size(split)) << name << ":" << split << ": the oracle has more examples";
      const auto rendered = nanochat::render_conversation(task->get(split, n).conversation, tokenizer);
      tokens += rendered.ids.size();
      if (rendered_line(rendered) != line && ++misses <= 3) {
        ADD_FAILURE() << name << ":" << split << " #" << n << " renders differently from the oracle";
      }
    }
    EXPECT_EQ(n, task->size(split)) << name << ":" << split << ": example counts differ";
    EXPECT_EQ(misses, 0u) << name << ":" << split;
    std::cout << "[parity] " << name << ":" << split << " " << n << " examples\n";
    total += n;
  }
  std::cout << "[parity] " << total << " examples, " << tokens << " tokens compared\n";
  RecordProperty("examples", static_cast<int>(total));
  EXPECT_GT(total, 40000u);
}

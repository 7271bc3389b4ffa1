// CORE parity with nanochat: on a small checkpoint made here through the real host (a
// 512-token tokenizer and a depth-1 model from ../shared/data), core_items_dump writes
// every item of every task at --max-problems 20 as our eval stage prepares it, `nanochat
// run eval --kind core` scores them, and check_core_parity.py holds both to nanochat's
// core_eval.py restated in Python (bench/core/reference_core.py: CPython's random, Jinja2,
// tiktoken, nanochat's GPT in PyTorch): the same few-shot picks, prompts, token ids and
// spans, and the same correct count in every task. The check is shown able to fail: one
// token id and one task's count, altered, are both caught.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "../integration/tiny_base.hpp"
#include "nanochat/subprocess.hpp"
#include "torch_python.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::read_file;
using nanochat::test::run_parity_script;

namespace {

constexpr const char* kMaxProblems = "20";

fs::path only_model_file(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("model_", 0) == 0 && entry.path().extension() == ".safetensors") return entry.path();
  }
  return {};
}

// The oracle's modules beyond safetensors: tiktoken (packaging/torch-venv-requirements.txt)
// and Jinja2 (a dependency of torch). Empty when both import.
std::string missing_oracle_modules(const fs::path& python) {
  nanochat::ProcessIo quiet{"", "/dev/null", "/dev/null"};
  const int code = nanochat::wait_process(nanochat::spawn_process({python.string(), "-c", "import tiktoken, jinja2"}, {}, quiet));
  return code == 0 ? "" : python.string() + " cannot import tiktoken and jinja2: run packaging/setup.sh";
}

class CoreParity : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;
  static inline std::string setup_error;

  static void SetUpTestSuite() {
    tiny = new nanochat::test::TinyBase(500000);
    if (!tiny->skip_reason().empty() || !tiny->error().empty()) return;
    // Sequence length 256: the rotary table's 2,560 positions hold most 10-shot prompts of a
    // 512-token vocabulary; the longest are cropped, on both sides alike.
    HostResult r = tiny->run({"run", "pretrain", "--depth", "1", "--max-seq-len", "256", "--device-batch-size", "4",
                              "--total-batch-size", "1024", "--num-iterations", "30", "--eval-every", "-1",
                              "--sample-every", "-1", "--model-tag", "p", "--device", "cpu", "--dtype", "fp32"});
    if (r.exit_code != 0) setup_error = "pretrain failed: " + r.err;
  }

  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    if (!fs::is_directory(data() / "eval_core") || !fs::is_directory(data() / "eval_hellaswag")) {
      GTEST_SKIP() << "no " << (data() / "eval_core").string() << " or eval_hellaswag: the shared data is not beside the checkout";
    }
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(setup_error, "");
  }

  static fs::path data() { return fs::path(NANOCHAT_TEST_SHARED_DIR) / "data"; }

  static std::vector<std::string> check_args(const fs::path& items, const fs::path& result, const fs::path& reference) {
    return {"--data", data().string(), "--tokenizer", (tiny->base() / "tokenizer").string(), "--checkpoint",
            only_model_file(tiny->base() / "base_checkpoints" / "p").string(), "--max-problems", kMaxProblems,
            "--ours-items", items.string(), "--ours-result", result.string(), "--reference", reference.string()};
  }
};

TEST_F(CoreParity, ItemsAndAccuracyMatchNanochatsCoreEval) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  if (const std::string missing = missing_oracle_modules(python); !missing.empty()) {
    if (nanochat::test::running_in_ci()) FAIL() << missing << " (CI=true)";
    GTEST_SKIP() << missing;
  }
  const fs::path items = tiny->root() / "ours.jsonl";
  ASSERT_EQ(nanochat::run_process({NANOCHAT_CORE_ITEMS_DUMP, "--data", data().string(), "--tokenizer",
                                   (tiny->base() / "tokenizer").string(), "--max-problems", kMaxProblems, "--out",
                                   items.string()}),
            0)
      << "core_items_dump failed";
  HostResult eval = tiny->run({"run", "eval", "--kind", "core", "--max-problems", kMaxProblems, "--device", "cpu",
                               "--dtype", "fp32"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  std::cout << eval.out;
  const fs::path result = tiny->base() / "eval" / "base-core.json";
  const fs::path reference = tiny->root() / "reference.json";
  const fs::path report = tiny->root() / "report.txt";

  const int code = run_parity_script(python, "check_core_parity.py", check_args(items, result, reference), report);
  std::cout << read_file(report);
  EXPECT_EQ(code, 0) << "our CORE evaluation differs from nanochat's (report above)";
  EXPECT_NE(read_file(report).find("CORE parity: all 20 tasks agree"), std::string::npos);

  // The same check on altered files fails, naming each change.
  std::ifstream in(items);
  std::string first, rest, line;
  std::getline(in, first);
  while (std::getline(in, line)) rest += line + "\n";
  nlohmann::json item = nlohmann::json::parse(first);
  item["tokens"][0][3] = item["tokens"][0][3].get<int>() + 1;
  const fs::path altered_items = tiny->root() / "altered.jsonl";
  nanochat::test::write_text(altered_items, item.dump() + "\n" + rest);
  nlohmann::json altered = nlohmann::json::parse(read_file(result));
  auto& last = altered["tasks"].back();
  last["correct"] = last["correct"].get<int>() == 0 ? 1 : last["correct"].get<int>() - 1;
  const fs::path altered_result = tiny->root() / "altered.json";
  nanochat::test::write_text(altered_result, altered.dump());
  const int altered_code =
      run_parity_script(python, "check_core_parity.py", check_args(altered_items, altered_result, reference), report);
  const std::string altered_report = read_file(report);
  std::cout << altered_report;
  EXPECT_EQ(altered_code, 1);
  EXPECT_NE(altered_report.find(item["task"].get<std::string>() + " "), std::string::npos);
  EXPECT_NE(altered_report.find("tokens differ"), std::string::npos);
  EXPECT_NE(altered_report.find("FAIL accuracy"), std::string::npos);
  EXPECT_NE(altered_report.find("CORE parity: 2 task(s) differ"), std::string::npos);
}

}  // namespace

// Builds the shared tiny base dir through the real host.
#include "tiny_base.hpp"

namespace nanochat::test {

TinyBase::TinyBase(int64_t max_chars) {
  const std::filesystem::path corpus = std::filesystem::path(NANOCHAT_TEST_SHARED_DIR) / "data" / "pretrain_nltk_modern";
  if (!std::filesystem::exists(corpus)) {
    skip_reason_ = "no " + corpus.string() + " (the shared data folder is not beside the checkout)";
    return;
  }
  const std::string chars = std::to_string(max_chars);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "tokenizer", "--corpus", corpus.string(), "--vocab-size", "512", "--max-chars", chars},
           {"run", "data", "--corpus", corpus.string(), "--max-chars", chars}}) {
    HostResult r = run(args);
    if (r.exit_code != 0) {
      error_ = args[1] + " failed: " + r.err;
      return;
    }
  }
}

std::vector<std::pair<std::string, std::string>> TinyBase::env() const {
  return {{"NANOCHAT_BASE_DIR", base().string()},
          {"NANOCHAT_PLUGIN_PATH", ""},
          {"OMP_NUM_THREADS", "1"},
          {"NANOCHAT_MACHINE_CACHE", (scratch_.path / "machine.json").string()}};
}

HostResult TinyBase::run(const std::vector<std::string>& args) const {
  return run_host(NANOCHAT_TEST_HOST, args, env());
}

std::string TinyBase::train_tiny_model(const std::string& tag, bool sft, const std::string& task_data_dir) const {
  std::vector<std::vector<std::string>> runs = {tiny_pretrain_args(1, 20, tag)};
  if (sft) {
    // Rows hold whole conversations: 192 tokens keep most of them to the assistant's answer.
    runs.push_back({"run", "sft", "--source", "base", "--model-tag", tag, "--max-seq-len", "192", "--device-batch-size",
                    "4", "--target-examples-per-step", "8", "--num-iterations", "4", "--eval-every", "-1",
                    "--eval-examples", "8", "--mixture", "identity,gsm8k:train,arc-easy:train,spellingbee=64",
                    "--device", "cpu", "--dtype", "fp32", "--task-data-dir", task_data_dir});
  }
  for (const auto& args : runs) {
    HostResult r = run(args);
    if (r.exit_code != 0) return args[1] + " failed: " + r.err;
  }
  return "";
}

std::vector<std::string> tiny_pretrain_args(int depth, int steps, const std::string& tag) {
  return {"run", "pretrain", "--depth", std::to_string(depth), "--max-seq-len", "64", "--device-batch-size", "4",
          "--total-batch-size", "256", "--num-iterations", std::to_string(steps), "--eval-every", "-1",
          "--sample-every", "-1", "--model-tag", tag, "--device", "cpu", "--dtype", "fp32"};
}

}  // namespace nanochat::test

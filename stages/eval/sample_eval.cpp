// Greedy samples of a checkpoint from fixed prompts (see sample_eval.hpp).
#include "sample_eval.hpp"

#include <fmt/format.h>

#include "base_loss_report.hpp"
#include "eval_common.hpp"
#include "nanochat/log.hpp"
#include "nanochat/sample_prompts.hpp"
#include "nanochat/training.hpp"

namespace nanochat::eval {

void run_sample_eval(const EvalOptions& options) {
  // nanochat's base_loss samples 16 tokens per prompt at temperature 0.
  constexpr int kSampleTokens = 16;
  EvalRun run = start_eval(options);
  if (!run.is_main()) return;
  nlohmann::json samples = nlohmann::json::array();
  for (const char* prompt : kBaseSamplePrompts) {
    const std::string text = prompt + sample_greedy(*run.model.model, *run.model.tokenizer, prompt, kSampleTokens);
    fmt::print("{}\n", text);
    samples.push_back(text);
  }
  const auto file = write_eval_result(options, run, {{"samples", samples}});
  log::info("sample: results in {}", file.string());
  if (run.model.source == "base") write_base_loss_report(options.base_dir);
}

}  // namespace nanochat::eval

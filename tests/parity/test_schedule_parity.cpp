// Our sizing, FLOPs, training horizon and lr schedule against nanochat's: nanochat_formulas.py
// computes them with nanochat's own formulas (its GPT built on the meta device,
// estimate_flops, base_train's horizon and get_lr_multiplier, all restated in
// bench/pretrain/reference_nanochat.py); GPTConfig, GPT, training_steps and lr_multiplier
// must give the same numbers. The d20/d26/d32 numbers of nanochat's runs (d20: 560,988,160
// parameters, 3.4918e9 FLOPs/token, 21,400 steps of 524,288 tokens at 20 tokens/parameter)
// are checked too, so a mistake shared by both sides would still show.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "nanochat/gpt.hpp"
#include "nanochat/schedule.hpp"
#include "torch_python.hpp"

namespace fs = std::filesystem;
using nanochat::GPTConfig;
using nanochat::test::read_file;
using nlohmann::json;

namespace {

// nanochat's numbers as nanochat_formulas.py prints them.
json run_formulas_oracle(const fs::path& python) {
  const fs::path file = fs::temp_directory_path() / ("nanochat-formulas-" + std::to_string(getpid()) + ".json");
  const int code = nanochat::test::run_parity_script(python, "nanochat_formulas.py", {}, file);
  if (code != 0) throw std::runtime_error("nanochat_formulas.py exited with " + std::to_string(code));
  json formulas = json::parse(read_file(file));
  fs::remove(file);
  return formulas;
}

GPTConfig config_of(const json& model) {
  return GPTConfig::from_depth(model.at("depth").get<int64_t>(), model.at("vocab_size").get<int64_t>(),
                               model.at("sequence_len").get<int64_t>());
}

const json& model_at(const json& formulas, int64_t depth) {
  for (const json& m : formulas.at("models")) {
    if (m.at("depth") == depth && m.at("vocab_size") == 65536) return m;
  }
  throw std::runtime_error("the oracle has no depth " + std::to_string(depth));
}

TEST(ScheduleParity, ModelSizesAndFlopsAreNanochats) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  const json formulas = run_formulas_oracle(python);
  for (const json& m : formulas.at("models")) {
    SCOPED_TRACE(m.dump());
    const GPTConfig config = config_of(m);
    EXPECT_EQ(config.n_embd, m.at("n_embd").get<int64_t>());
    EXPECT_EQ(config.n_head, m.at("n_head").get<int64_t>());
    EXPECT_EQ(config.padded_vocab_size(), m.at("padded_vocab_size").get<int64_t>());
    EXPECT_EQ(config.num_params(), m.at("num_params").get<int64_t>());
    EXPECT_EQ(config.flops_per_token(), m.at("flops_per_token").get<int64_t>());
    // The module's own parameters, not just the formula (the meta device allocates nothing).
    EXPECT_EQ(nanochat::GPT(config, c10::Device(c10::kMeta)).num_params(), m.at("num_params").get<int64_t>());
  }
  // nanochat's runs: d20, d26, d32 at vocabulary 65,536 and 2,048 tokens.
  EXPECT_EQ(model_at(formulas, 20).at("num_params").get<int64_t>(), 560988160);
  EXPECT_NEAR(model_at(formulas, 20).at("flops_per_token").get<double>(), 3.4918e9, 0.00005e9);
  EXPECT_EQ(model_at(formulas, 26).at("num_params").get<int64_t>(), 1081999360);
  EXPECT_NEAR(model_at(formulas, 26).at("flops_per_token").get<double>(), 6.9009e9, 0.00005e9);
  EXPECT_EQ(model_at(formulas, 32).at("num_params").get<int64_t>(), 1879048192);
  EXPECT_NEAR(model_at(formulas, 32).at("flops_per_token").get<double>(), 1.20796e10, 0.000005e10);
}

TEST(ScheduleParity, TrainingHorizonIsNanochats) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  const json formulas = run_formulas_oracle(python);
  for (const json& h : formulas.at("horizons")) {
    SCOPED_TRACE(h.dump());
    const GPTConfig config = config_of(model_at(formulas, h.at("depth").get<int64_t>()));
    nanochat::TrainingHorizon horizon;
    horizon.num_iterations = h.at("num_iterations").get<int64_t>();
    horizon.target_flops = h.at("target_flops").get<double>();
    horizon.target_param_data_ratio = h.at("target_param_data_ratio").get<double>();
    EXPECT_EQ(nanochat::training_steps(horizon, config.num_params(), config.flops_per_token(),
                                       h.at("total_batch_size").get<int64_t>()),
              h.at("steps").get<int64_t>());
  }
  // nanochat's runs: 20 tokens per parameter, 524,288 tokens a step.
  const GPTConfig d20 = GPTConfig::from_depth(20, 65536, 2048);
  EXPECT_EQ(nanochat::training_steps({}, d20.num_params(), d20.flops_per_token(), 524288), 21400);
  const GPTConfig d32 = GPTConfig::from_depth(32, 65536, 2048);
  EXPECT_EQ(nanochat::training_steps({}, d32.num_params(), d32.flops_per_token(), 524288), 71680);
  nanochat::TrainingHorizon none{-1, -1, -1};
  EXPECT_THROW(nanochat::training_steps(none, d20.num_params(), d20.flops_per_token(), 524288), nanochat::UsageError);
}

TEST(ScheduleParity, LrMultiplierIsNanochatsAtEveryStep) {
  NANOCHAT_REQUIRE_TORCH_PYTHON(python);
  const json formulas = run_formulas_oracle(python);
  int64_t compared = 0, mismatches = 0;
  std::ostringstream first;
  for (const json& s : formulas.at("schedules")) {
    const int64_t n = s.at("num_iterations").get<int64_t>();
    const nanochat::LrSchedule schedule{s.at("warmup_ratio").get<double>(), s.at("warmdown_ratio").get<double>(),
                                        s.at("final_lr_frac").get<double>()};
    const json& expected = s.at("multipliers");
    ASSERT_EQ(expected.size(), static_cast<size_t>(n + 1));
    for (int64_t step = 0; step <= n; ++step) {
      const double ours = nanochat::lr_multiplier(step, n, schedule);
      const double theirs = expected[step].get<double>();
      ++compared;
      // The same IEEE operations in the same order: equal up to the last bits (4 ulps).
      if (std::abs(ours - theirs) > 4 * std::numeric_limits<double>::epsilon() * std::abs(theirs)) {
        if (mismatches++ < 5) {
          first << "\n  step " << step << " of " << n << " (warmup " << schedule.warmup_ratio << ", warmdown "
                << schedule.warmdown_ratio << ", final " << schedule.final_lr_frac << "): ours " << ours
                << ", nanochat " << theirs;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << mismatches << " of " << compared << " multipliers differ:" << first.str();
  // The d20 run: constant through step 17,120, then down to 0 at step 21,400.
  const nanochat::LrSchedule base_train;
  EXPECT_EQ(nanochat::lr_multiplier(17120, 21400, base_train), 1.0);
  EXPECT_LT(nanochat::lr_multiplier(17121, 21400, base_train), 1.0);
  EXPECT_EQ(nanochat::lr_multiplier(21400, 21400, base_train), 0.0);
}

}  // namespace

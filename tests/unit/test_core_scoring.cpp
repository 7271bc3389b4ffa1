// The fast CORE scoring path (a shared prefix run once into a KV cache, the options after
// it in one batch, only span positions through the cross-entropy) against the plain one
// (nanochat's: every sequence whole, padded into one batch): the same mean losses and
// greedy matches on a random model, for multiple choice, schema and language-modelling
// spans, in batches of any size, and for sequences cropped to the model's positions. Also
// the verdict's tie and NaN rules (Python's list.index(min(...))).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core_scoring.hpp"
#include "nanochat/gpt.hpp"

using namespace nanochat::eval;
using nanochat::GPT;
using nanochat::GPTConfig;
using nanochat::TokenId;

namespace {

constexpr TokenId kBos = 1;

// A depth-2 model whose lm_head is drawn too (init leaves it zero: every loss would tie).
GPT random_model(int64_t sequence_len) {
  GPT model(GPTConfig::from_depth(2, 300, sequence_len));
  model.init_weights(7);
  {
    at::NoGradGuard no_grad;
    for (auto& [name, tensor] : model.state_dict()) {
      if (name == "lm_head.weight") tensor.normal_(0, 0.5);
    }
  }
  model.eval();
  return model;
}

std::vector<TokenId> random_tokens(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<TokenId> id(2, 299);
  std::vector<TokenId> tokens(n);
  for (auto& t : tokens) t = id(rng);
  return tokens;
}

// BOS + a shared context + one continuation per option, spans from core_sequences.
CoreSequences multiple_choice(std::mt19937& rng, size_t context, std::vector<size_t> lengths) {
  std::vector<TokenId> shared = random_tokens(rng, context);
  shared.insert(shared.begin(), kBos);
  std::vector<std::vector<TokenId>> tokens;
  for (size_t n : lengths) {
    tokens.push_back(shared);
    for (TokenId t : random_tokens(rng, n)) tokens.back().push_back(t);
  }
  return core_sequences(CoreTaskType::multiple_choice, tokens);
}

void expect_same(const SequenceScores& fast, const SequenceScores& plain) {
  ASSERT_EQ(fast.mean_loss.size(), plain.mean_loss.size());
  for (size_t i = 0; i < fast.mean_loss.size(); ++i) {
    EXPECT_NEAR(fast.mean_loss[i], plain.mean_loss[i], 1e-5 * std::abs(plain.mean_loss[i])) << "sequence " << i;
    EXPECT_EQ(fast.greedy_match[i], plain.greedy_match[i]) << "sequence " << i;
  }
}

TEST(CoreScoring, SharedPrefixPathEqualsThePlainOne) {
  GPT model = random_model(64);
  std::mt19937 rng(3);
  // Shared prefixes of 41 and 101 tokens take the cache; 1 and 11 are too short for it.
  for (const CoreSequences& s : {multiple_choice(rng, 40, {5, 9, 1, 12}), multiple_choice(rng, 0, {3, 4}),
                                 multiple_choice(rng, 10, {3, 4}), multiple_choice(rng, 100, {20, 20, 20})}) {
    const SequenceScores plain = score_sequences_plain(model, s, kBos);
    expect_same(score_sequences(model, s, kBos, 32), plain);
    expect_same(score_sequences(model, s, kBos, 1), plain);  // one option per pass
    for (double loss : plain.mean_loss) EXPECT_TRUE(std::isfinite(loss));
  }
}

TEST(CoreScoring, SchemaAndLanguageModellingSpans) {
  GPT model = random_model(64);
  std::mt19937 rng(5);
  std::vector<TokenId> continuation = random_tokens(rng, 6);
  std::vector<std::vector<TokenId>> contexts = {random_tokens(rng, 10), random_tokens(rng, 14)};
  const std::vector<TokenId> start = random_tokens(rng, 40);  // a common start before the contexts differ
  for (auto& c : contexts) {
    c.insert(c.begin(), start.begin(), start.end());
    c.insert(c.begin(), kBos);
    c.insert(c.end(), continuation.begin(), continuation.end());
  }
  const CoreSequences schema = core_sequences(CoreTaskType::schema, contexts);
  expect_same(score_sequences(model, schema, kBos, 32), score_sequences_plain(model, schema, kBos));

  std::vector<TokenId> with = random_tokens(rng, 30);
  with.insert(with.begin(), kBos);
  const std::vector<TokenId> without(with.begin(), with.begin() + 25);
  const CoreSequences lm = core_sequences(CoreTaskType::language_modeling, {without, with});
  expect_same(score_sequences(model, lm, kBos, 32), score_sequences_plain(model, lm, kBos));
  // A continuation the model predicts: its own greedy tokens.
  CoreSequences greedy{{{kBos, 5, 6}}, {3}, {3}};
  for (int i = 0; i < 4; ++i) {
    const at::Tensor logits = model.forward(at::tensor(std::vector<int64_t>(greedy.tokens[0].begin(), greedy.tokens[0].end())).view({1, -1}));
    greedy.tokens[0].push_back(static_cast<TokenId>(logits[0][-1].argmax().item<int64_t>()));
  }
  greedy.end[0] = greedy.tokens[0].size();
  EXPECT_TRUE(score_sequences(model, greedy, kBos, 32).greedy_match[0]);
  EXPECT_TRUE(core_item_correct(CoreTaskType::language_modeling, score_sequences(model, greedy, kBos, 32), 0));
}

TEST(CoreScoring, LongSequencesAreCroppedToTheModelsPositions) {
  GPT model = random_model(8);  // 80 positions
  std::mt19937 rng(11);
  const CoreSequences s = multiple_choice(rng, 120, {4, 7, 2});
  expect_same(score_sequences(model, s, kBos, 32), score_sequences_plain(model, s, kBos));
}

TEST(CoreScoring, VerdictTakesTheFirstLowestLossAsPythonsMin) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto correct = [](std::vector<double> losses, int gold) {
    return core_item_correct(CoreTaskType::multiple_choice, SequenceScores{losses, std::vector<bool>(losses.size())}, gold);
  };
  EXPECT_TRUE(correct({2.0, 1.0, 3.0}, 1));
  EXPECT_TRUE(correct({1.0, 1.0, 3.0}, 0));  // a tie goes to the first
  EXPECT_TRUE(correct({nan, 0.5, 3.0}, 0));  // min() keeps a leading NaN
  EXPECT_TRUE(correct({1.0, nan, 0.5}, 2));  // later NaNs never win
}

}  // namespace

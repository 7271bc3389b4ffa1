// The inference engine on real models and a BPE tokenizer trained here: KV-cache decoding
// against greedy decoding by full forward passes, seeded sampling, stop tokens, the
// length cap and cancelling, the calculator tool's forced tokens, and streamed text that
// never splits a character. Scripted behaviour comes from a depth-1 GPT whose weights
// make it a bigram table (its blocks add nothing while their output projections are 0).
#include "nanochat/engine.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bpe_tokenizer.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/utf8.hpp"
#include "sampler.hpp"
#include "tokenizer_test_support.hpp"

using nanochat::Engine;
using nanochat::GeneratedSequence;
using nanochat::GenerationStep;
using nanochat::GPT;
using nanochat::GPTConfig;
using nanochat::SamplingOptions;
using nanochat::TokenId;
namespace special = nanochat::special_tokens;

namespace {

// Trained once: a few KB of English, CJK and emoji, so some merged tokens hold partial
// characters.
std::shared_ptr<const nanochat::Tokenizer> tokenizer() {
  static const auto trained = [] {
    std::vector<std::string> documents;
    for (int i = 0; i < 40; ++i) {
      documents.push_back("The sky is blue because air scatters blue light more than red light. " +
                          std::to_string(i * 37) + " 天空是蓝色的 日本語のテキスト 😀🎉 naïve café");
    }
    auto bpe = std::make_shared<nanochat::bpe::BpeTokenizer>();
    nanochat::test::VectorSource source(documents);
    nanochat::TokenizerTrainOptions options;
    options.vocab_size = 256 + nanochat::kSpecialTokens.size() + 120;
    options.threads = 1;
    bpe->train(source, options);
    return bpe;
  }();
  return trained;
}

TokenId id(const char* special_name) { return tokenizer()->special_id(special_name); }

TokenId byte_token(const std::string& text) {
  auto found = tokenizer()->find_token(text);
  EXPECT_TRUE(found.has_value()) << "no token for '" << text << "'";
  return found.value_or(0);
}

int64_t vocab() { return static_cast<int64_t>(tokenizer()->vocab_size()); }

std::vector<TokenId> chat_prompt(const std::string& user) {
  std::vector<TokenId> ids = {id(special::bos), id(special::user_start)};
  for (TokenId t : tokenizer()->encode(user)) ids.push_back(t);
  ids.push_back(id(special::user_end));
  ids.push_back(id(special::assistant_start));
  return ids;
}

at::Tensor parameter(GPT& model, const std::string& name) {
  for (auto& [key, tensor] : model.state_dict()) {
    if (key == name) return tensor;
  }
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

// A randomly initialized model whose every weight is drawn (init leaves lm_head and the
// output projections at 0, which would make every logit equal).
std::shared_ptr<GPT> random_model(int64_t depth, uint64_t seed) {
  auto model = std::make_shared<GPT>(GPTConfig::from_depth(depth, vocab(), 128));
  model->init_weights(seed);
  torch::NoGradGuard no_grad;
  at::Generator generator = at::detail::createCPUGenerator(seed);
  for (auto& [name, tensor] : model->state_dict()) tensor.normal_(0.0, name == "transformer.wte.weight" ? 1.0 : 0.1, generator);
  model->eval();
  return model;
}

// A bigram model: after token `from` its logits peak (equally) on each of `to`; after any
// other token every logit is equal, so argmax picks token 0.
std::shared_ptr<GPT> bigram_model(const std::map<TokenId, std::vector<TokenId>>& next) {
  auto model = std::make_shared<GPT>(GPTConfig::from_depth(1, vocab(), 128));
  model->init_weights(0);
  torch::NoGradGuard no_grad;
  at::Tensor wte = parameter(*model, "transformer.wte.weight");
  at::Tensor lm_head = parameter(*model, "lm_head.weight");
  const int64_t width = wte.size(1);
  wte.zero_();
  wte.select(1, width - 1).fill_(1.0);  // a slot lm_head never reads
  lm_head.zero_();
  int64_t slot = 0;
  for (const auto& [from, targets] : next) {
    wte[from].zero_();
    wte[from][slot] = 1.0;
    for (TokenId to : targets) lm_head[to][slot] = 10.0;  // ×√width after the norm: softcapped to ~15
    ++slot;
  }
  model->eval();
  return model;
}

// Greedy decoding the slow way: a full forward pass over the whole sequence per token.
std::vector<TokenId> greedy_by_full_forward(GPT& model, std::vector<TokenId> ids, int max_tokens) {
  c10::InferenceMode inference;
  for (int i = 0; i < max_tokens; ++i) {
    const std::vector<int64_t> wide(ids.begin(), ids.end());
    at::Tensor logits = model.forward(at::tensor(wide, at::kLong).unsqueeze(0));
    const auto next = static_cast<TokenId>(logits[0][-1].argmax().item<int64_t>());
    if (next == id(special::assistant_end) || next == id(special::bos)) break;
    ids.push_back(next);
  }
  return ids;
}

std::vector<GenerationStep> all_steps(Engine& engine, const std::vector<TokenId>& prompt, int rows,
                                      const SamplingOptions& options) {
  std::vector<GenerationStep> steps;
  engine.generate(prompt, rows, options, [&](const GenerationStep& step) {
    steps.push_back(step);
    return true;
  });
  return steps;
}

SamplingOptions greedy(int max_tokens) {
  SamplingOptions options;
  options.temperature = 0.0;
  options.max_tokens = max_tokens;
  return options;
}

TEST(Engine, KvCacheDecodingEqualsFullForwardGreedy) {
  auto model = random_model(2, 1);
  Engine engine(model, tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("Why is the sky blue?");
  const std::vector<TokenId> expected = greedy_by_full_forward(*model, prompt, 24);
  ASSERT_GT(expected.size(), prompt.size() + 5) << "the random model stopped too early to compare";
  std::vector<uint8_t> expected_mask(prompt.size(), 0);
  expected_mask.resize(expected.size(), 1);
  for (const GeneratedSequence& row : engine.generate_batch(prompt, 3, greedy(24))) {
    EXPECT_EQ(row.tokens, expected);
    EXPECT_EQ(row.mask, expected_mask);
  }
}

TEST(Engine, SeededSamplingIsReproducibleAndSeedsDiffer) {
  Engine engine(random_model(2, 2), tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("Tell me a story");
  for (int top_k : {0, 50}) {
    SamplingOptions options;
    options.temperature = 1.0;
    options.top_k = top_k;
    options.max_tokens = 16;
    options.seed = 7;
    auto first = engine.generate_batch(prompt, 4, options);
    auto again = engine.generate_batch(prompt, 4, options);
    options.seed = 8;
    auto other = engine.generate_batch(prompt, 4, options);
    std::set<std::vector<TokenId>> distinct_rows;
    bool seeds_differ = false;
    for (size_t row = 0; row < first.size(); ++row) {
      EXPECT_EQ(first[row].tokens, again[row].tokens) << "top_k " << top_k << " row " << row;
      seeds_differ = seeds_differ || first[row].tokens != other[row].tokens;
      distinct_rows.insert(first[row].tokens);
    }
    EXPECT_TRUE(seeds_differ) << "top_k " << top_k;
    EXPECT_GT(distinct_rows.size(), 1u) << "rows sharing a prefill must still sample apart";
  }
}

TEST(Engine, TopKSamplingDrawsAsNanochatsDoes) {
  // The CPU's own top-k must hand multinomial the same values in the same order as
  // at::topk (nanochat's torch.topk), so a seed draws the same token.
  at::Tensor logits = at::randn({3, 1000}, at::make_generator<at::CPUGeneratorImpl>(5)) * 4;
  for (int top_k : {1, 5, 50}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      SamplingOptions options;
      options.temperature = 0.8;
      options.top_k = top_k;
      at::Generator ours = nanochat::detail::make_generator(at::kCPU, seed);
      at::Generator theirs = nanochat::detail::make_generator(at::kCPU, seed);
      auto [values, indices] = logits.topk(top_k, -1);
      at::Tensor choice = at::multinomial((values / 0.8).softmax(-1), 1, false, theirs);
      at::Tensor expected = indices.gather(1, choice).squeeze(1);
      EXPECT_TRUE(at::equal(nanochat::detail::sample_next_tokens(logits, options, ours), expected))
          << "top_k " << top_k << " seed " << seed;
    }
  }
}

TEST(Engine, TopKOneIsGreedy) {
  auto model = random_model(1, 3);
  Engine engine(model, tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("hello");
  SamplingOptions options;
  options.temperature = 1.5;
  options.top_k = 1;
  options.max_tokens = 12;
  EXPECT_EQ(engine.generate_batch(prompt, 1, options)[0].tokens, engine.generate_batch(prompt, 1, greedy(12))[0].tokens);
}

TEST(Engine, StopTokensEndEachRowOnItsOwn) {
  const TokenId a = byte_token("a");
  const TokenId start = id(special::assistant_start), end = id(special::assistant_end);
  // After <|assistant_start|>: 'a' or <|assistant_end|> with equal odds; after 'a': <|bos|>.
  Engine engine(bigram_model({{start, {a, end}}, {a, {id(special::bos)}}}), tokenizer());
  SamplingOptions options;
  options.temperature = 1.0;
  options.max_tokens = 50;
  options.seed = 3;
  const std::vector<TokenId> prompt = chat_prompt("hi");
  const auto steps = all_steps(engine, prompt, 8, options);
  ASSERT_EQ(steps.size(), 2u) << "every row stops within two tokens, so generation ends there";
  int stopped_first = 0;
  for (size_t row = 0; row < 8; ++row) {
    EXPECT_EQ(steps[0].live[row], 1);
    if (steps[0].tokens[row] == end) {
      ++stopped_first;
      EXPECT_EQ(steps[1].live[row], 0);
    } else {
      EXPECT_EQ(steps[0].tokens[row], a);
      EXPECT_EQ(steps[1].tokens[row], id(special::bos));
      EXPECT_EQ(steps[1].live[row], 1);
    }
  }
  EXPECT_GT(stopped_first, 0);
  EXPECT_LT(stopped_first, 8);
  for (const GeneratedSequence& row : engine.generate_batch(prompt, 8, options)) {
    EXPECT_TRUE(row.stopped);
    EXPECT_TRUE(row.tokens.size() == prompt.size() || row.tokens.back() == a) << "no stop token in results";
  }
}

TEST(Engine, LengthCapAndCancelling) {
  const TokenId a = byte_token("a");
  Engine engine(bigram_model({{id(special::assistant_start), {a}}, {a, {a}}}), tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("hi");
  const GeneratedSequence row = engine.generate_batch(prompt, 1, greedy(5))[0];
  EXPECT_FALSE(row.stopped);
  EXPECT_EQ(row.tokens.size(), prompt.size() + 5);

  const nanochat::Completion capped = engine.complete(prompt, greedy(5));
  EXPECT_EQ(capped.text, "aaaaa");
  EXPECT_EQ(capped.finish_reason, nanochat::FinishReason::length);
  EXPECT_STREQ(nanochat::finish_reason_name(capped.finish_reason), "length");
  EXPECT_EQ(capped.completion_tokens, 5);
  EXPECT_EQ(capped.prompt_tokens, static_cast<int64_t>(prompt.size()));

  int calls = 0;
  engine.generate(prompt, 2, greedy(100), [&](const GenerationStep&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
  const nanochat::Completion cancelled =
      engine.complete(prompt, greedy(100), [&](std::string_view) { return false; });
  EXPECT_EQ(cancelled.finish_reason, nanochat::FinishReason::cancelled);
  EXPECT_EQ(cancelled.text, "a");
  EXPECT_EQ(engine.complete(prompt, greedy(0)).completion_tokens, 0);
}

TEST(Engine, CalculatorToolForcesItsResult) {
  const TokenId one = byte_token("1"), plus = byte_token("+"), two = byte_token("2"), three = byte_token("3");
  const TokenId py_start = id(special::python_start), py_end = id(special::python_end);
  const TokenId out_start = id(special::output_start), out_end = id(special::output_end);
  const TokenId end = id(special::assistant_end);
  // The model writes <|python_start|>1+2<|python_end|> and, once it reads
  // <|output_end|>, ends its turn; what it would say in between is overridden.
  Engine engine(bigram_model({{id(special::assistant_start), {py_start}},
                              {py_start, {one}},
                              {one, {plus}},
                              {plus, {two}},
                              {two, {py_end}},
                              {out_end, {end}}}),
                tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("what is 1+2?");
  const auto steps = all_steps(engine, prompt, 2, greedy(30));
  const std::vector<TokenId> expected_tokens = {py_start, one, plus, two, py_end, out_start, three, out_end, end};
  const std::vector<uint8_t> expected_masks = {1, 1, 1, 1, 1, 0, 0, 0, 1};
  ASSERT_EQ(steps.size(), expected_tokens.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    for (size_t row = 0; row < 2; ++row) {
      EXPECT_EQ(steps[i].tokens[row], expected_tokens[i]) << "step " << i;
      EXPECT_EQ(steps[i].masks[row], expected_masks[i]) << "step " << i;
    }
  }
  const nanochat::Completion completion = engine.complete(prompt, greedy(30));
  EXPECT_EQ(completion.text, "<|python_start|>1+2<|python_end|><|output_start|>3<|output_end|>");
  EXPECT_EQ(completion.finish_reason, nanochat::FinishReason::stop);

  // No result (division by zero): nothing is forced and the model goes on by itself.
  const TokenId slash = byte_token("/"), zero = byte_token("0");
  Engine refusing(bigram_model({{id(special::assistant_start), {py_start}},
                                {py_start, {one}},
                                {one, {slash}},
                                {slash, {zero}},
                                {zero, {py_end}},
                                {py_end, {end}}}),
                  tokenizer());
  const GeneratedSequence row = refusing.generate_batch(prompt, 1, greedy(30))[0];
  EXPECT_EQ(std::vector<TokenId>(row.tokens.begin() + prompt.size(), row.tokens.end()),
            (std::vector<TokenId>{py_start, one, slash, zero, py_end}));
  EXPECT_TRUE(row.stopped);
}

TEST(Engine, StreamedTextNeverSplitsACharacter) {
  // The reply is spelled one byte token at a time, so every token but the ASCII ones ends
  // inside a character.
  const std::string reply = "日中😀é!";  // no byte twice
  std::map<TokenId, std::vector<TokenId>> next;
  TokenId previous = id(special::assistant_start);
  for (char c : reply) {
    const TokenId token = byte_token(std::string(1, c));
    next[previous] = {token};
    previous = token;
  }
  next[previous] = {id(special::assistant_end)};
  ASSERT_EQ(next.size(), reply.size() + 1) << "a byte repeats; the bigram table needs distinct bytes";
  Engine engine(bigram_model(next), tokenizer());
  std::vector<std::string> chunks;
  const nanochat::Completion completion = engine.complete(chat_prompt("hi"), greedy(50), [&](std::string_view text) {
    chunks.emplace_back(text);
    return true;
  });
  EXPECT_EQ(chunks, (std::vector<std::string>{"日", "中", "😀", "é", "!"}));
  EXPECT_EQ(completion.text, reply);
  EXPECT_EQ(completion.tokens.size(), reply.size());
}

TEST(Engine, RefusesBadRequests) {
  Engine engine(random_model(1, 4), tokenizer());
  const std::vector<TokenId> prompt = chat_prompt("hi");
  EXPECT_THROW(engine.generate_batch({}, 1, greedy(4)), nanochat::Error);
  EXPECT_THROW(engine.generate_batch(prompt, 0, greedy(4)), nanochat::Error);
  EXPECT_THROW(engine.generate_batch({static_cast<TokenId>(vocab())}, 1, greedy(4)), nanochat::Error);
  SamplingOptions negative = greedy(4);
  negative.temperature = -1.0;
  EXPECT_THROW(engine.generate_batch(prompt, 1, negative), nanochat::Error);
  auto small = std::make_shared<GPT>(GPTConfig::from_depth(1, 300, 64));
  EXPECT_THROW(Engine(small, tokenizer()), nanochat::Error);
}

}  // namespace

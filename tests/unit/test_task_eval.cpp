// Scoring chat models on tasks (nanochat/task_eval.hpp). Generative: on the real gsm8k,
// spellingbee and simple-spelling test splits, the completion a perfect model would make
// (the reference answer's tokens, decoded) scores 1 and a wrong one 0, pass@k needs one right
// sample, and ranks split the problems. Categorical: on a 3-question fixture, the letters
// chosen from a padded batch match logits computed here by hand from the weights of a
// one-layer GPT whose attention is a plain average (c_q = 0) and whose MLP adds nothing
// (c_fc = 0); and a padded batch of a fully random model answers as one question at a time.
#include "nanochat/task_eval.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "bpe_tokenizer.hpp"
#include "nanochat/conversation.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "task_test_support.hpp"
#include "tokenizer_test_support.hpp"

using nanochat::Conversation;
using nanochat::EvalType;
using nanochat::GPT;
using nanochat::RankShare;
using nanochat::TaskExample;
using nanochat::TaskRef;
using nanochat::TaskScore;
using nanochat::TokenId;
using nanochat::Tokenizer;

namespace {

// A small BPE tokenizer: the task texts only need to survive encode → decode.
std::shared_ptr<const Tokenizer> tokenizer() {
  static const auto trained = [] {
    const std::vector<std::string> documents(20, "Multiple Choice question: which letter is the answer? 12 + 30 = 42");
    auto bpe = std::make_shared<nanochat::bpe::BpeTokenizer>();
    nanochat::test::VectorSource source(documents);
    nanochat::TokenizerTrainOptions options;
    options.vocab_size = 256 + nanochat::kSpecialTokens.size() + 40;
    options.threads = 1;
    bpe->train(source, options);
    return bpe;
  }();
  return trained;
}

// ---------------------------------------------------------------------------------------
// Generative

// What a model that has learnt the reference answer generates: the answer's tokens as
// render_conversation puts them after the prompt, up to <|assistant_end|>, decoded.
std::string reference_completion(const TaskExample& example, const Tokenizer& tok) {
  const std::vector<TokenId> prompt = nanochat::render_for_completion(example.conversation, tok);
  const std::vector<TokenId> whole = nanochat::render_conversation(example.conversation, tok).ids;
  EXPECT_EQ(whole.back(), tok.special_id(nanochat::special_tokens::assistant_end));
  return tok.decode(std::vector<TokenId>(whole.begin() + static_cast<std::ptrdiff_t>(prompt.size()), whole.end() - 1));
}

// Completions by prompt; a prompt the evaluation did not render as render_for_completion does fails the test.
nanochat::CompletionSource by_prompt(const std::map<std::vector<TokenId>, std::vector<std::string>>& answers) {
  return [&answers](const std::vector<TokenId>& prompt) {
    auto found = answers.find(prompt);
    EXPECT_NE(found, answers.end()) << "a prompt that is not render_for_completion's";
    return found == answers.end() ? std::vector<std::string>{} : found->second;
  };
}

struct GenerativeCase {
  const char* task;
  const char* argument;
};

class GenerativeEval : public ::testing::TestWithParam<GenerativeCase> {};

TEST_P(GenerativeEval, ReferenceCompletionsScoreOneAndWrongOnesZero) {
  NANOCHAT_REQUIRE_SHARED_DATA(data);
  const auto task = nanochat::test::open_task(GetParam().task, data, GetParam().argument);
  ASSERT_EQ(task->eval_type(), EvalType::generative);
  const TaskRef ref{task, "test"};
  const size_t problems = 20;
  const Tokenizer& tok = *tokenizer();

  // Appending a digit changes the number after "#### " (gsm8k, spellingbee) and breaks
  // the exact spelling (simple-spelling).
  std::map<std::vector<TokenId>, std::vector<std::string>> right, wrong, one_of_two, none_of_two, empty;
  for (size_t i = 0; i < problems; ++i) {
    const TaskExample example = ref.get(i);
    const auto prompt = nanochat::render_for_completion(example.conversation, tok);
    const std::string good = reference_completion(example, tok), bad = good + "1";
    EXPECT_EQ(task->evaluate(example, good), 1.0) << GetParam().task << " " << i << ": " << good;
    right[prompt] = {good};
    wrong[prompt] = {bad};
    one_of_two[prompt] = {bad, good};
    none_of_two[prompt] = {bad, ""};
    empty[prompt] = {""};
  }
  auto score = [&](const std::map<std::vector<TokenId>, std::vector<std::string>>& answers, RankShare share = {}) {
    return nanochat::evaluate_generative(ref, problems, tok, by_prompt(answers), 2048, share);
  };
  EXPECT_EQ(score(right).passed, 20);
  EXPECT_EQ(score(right).total, 20);
  EXPECT_EQ(score(wrong).passed, 0);
  EXPECT_EQ(score(empty).passed, 0);
  EXPECT_EQ(score(one_of_two).passed, 20) << "pass@2: one right sample passes";
  EXPECT_EQ(score(none_of_two).passed, 0);

  // Two ranks take problems 0, 2, 4, ... and 1, 3, 5, ...
  int64_t calls = 0;
  const TaskScore first = nanochat::evaluate_generative(ref, problems, tok, by_prompt(right), 2048, {0, 2},
                                                        [&](const TaskScore&) { ++calls; });
  const TaskScore second = score(right, {1, 2});
  EXPECT_EQ(first.total, 10);
  EXPECT_EQ(second.total, 10);
  EXPECT_EQ(first.passed + second.passed, 20);
  EXPECT_EQ(calls, 10) << "progress after each problem";
}

INSTANTIATE_TEST_SUITE_P(Tasks, GenerativeEval,
                         ::testing::Values(GenerativeCase{"gsm8k", ""}, GenerativeCase{"spellingbee", "256"},
                                           GenerativeCase{"simple-spelling", "256"}),
                         [](const auto& info) {
                           std::string name = info.param.task;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// ---------------------------------------------------------------------------------------
// Categorical

struct Question {
  std::string text;
  std::vector<std::string> choices;
};

// Three questions of different lengths and 4, 3 and 5 choices, in nanochat's multiple-choice
// format; the right letters are given (the test picks them from the hand-computed logits).
class FixtureTask : public nanochat::Task {
 public:
  explicit FixtureTask(std::vector<std::string> answers) : answers_(std::move(answers)) {}

  void open(const nanochat::TaskOpenOptions&) override {}
  std::string name() const override { return "fixture"; }
  std::vector<std::string> splits() const override { return {"test"}; }
  size_t size(const std::string&) const override { return questions().size(); }
  EvalType eval_type() const override { return EvalType::categorical; }

  TaskExample get(const std::string&, size_t index) const override {
    const Question& q = questions().at(index);
    TaskExample example;
    std::string user = "Multiple Choice question: " + q.text + "\n";
    for (size_t i = 0; i < q.choices.size(); ++i) {
      example.letters.push_back(std::string(1, static_cast<char>('A' + i)));
      user += "- " + q.choices[i] + "=" + example.letters.back() + "\n";
    }
    user += "\nRespond only with the letter of the correct answer.";
    example.conversation.messages = {{"user", {{nanochat::MessagePart::Type::text, user}}},
                                     {"assistant", {{nanochat::MessagePart::Type::text, answers_.at(index)}}}};
    return example;
  }

  double evaluate(const TaskExample& example, const std::string& completion) const override {
    return completion == example.conversation.messages.back().parts[0].text ? 1.0 : 0.0;
  }

  static const std::vector<Question>& questions() {
    static const std::vector<Question> list = {
        {"What is 12 + 30?", {"42", "24", "1230", "18"}},
        {"Which gas do plants take in to make sugar in sunlight?", {"oxygen", "carbon dioxide", "helium"}},
        {"Why is the sky blue?", {"air scatters blue light more than red light", "the sea", "paint", "magic", "ice"}},
    };
    return list;
  }

 private:
  std::vector<std::string> answers_;
};

at::Tensor weight(GPT& model, const std::string& name) {
  for (auto& [key, tensor] : model.state_dict()) {
    if (key == name) return tensor;
  }
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

std::unique_ptr<GPT> one_layer_model(uint64_t seed) {
  nanochat::GPTConfig config;
  config.sequence_len = 64;
  config.vocab_size = static_cast<int64_t>(tokenizer()->vocab_size());
  config.n_layer = 1;
  config.n_head = 1;
  config.n_kv_head = 1;
  config.n_embd = 32;
  auto model = std::make_unique<GPT>(config);
  model->init_weights(seed);
  model->eval();
  return model;
}

// Row-major copies of the weights, as doubles.
using Matrix = std::vector<std::vector<double>>;
Matrix rows_of(const at::Tensor& t) {
  const at::Tensor cpu = t.to(at::kDouble).contiguous();
  const auto a = cpu.accessor<double, 2>();
  Matrix m(static_cast<size_t>(cpu.size(0)), std::vector<double>(static_cast<size_t>(cpu.size(1))));
  for (int64_t i = 0; i < cpu.size(0); ++i) {
    for (int64_t j = 0; j < cpu.size(1); ++j) m[i][j] = a[i][j];
  }
  return m;
}

std::vector<double> times(const Matrix& m, const std::vector<double>& v) {
  std::vector<double> out(m.size(), 0.0);
  for (size_t i = 0; i < m.size(); ++i) {
    for (size_t j = 0; j < v.size(); ++j) out[i] += m[i][j] * v[j];
  }
  return out;
}

// F.rms_norm with fp32's default eps.
std::vector<double> rms_norm(std::vector<double> v) {
  double squares = 0;
  for (double x : v) squares += x * x;
  const double r = 1.0 / std::sqrt(squares / static_cast<double>(v.size()) + std::numeric_limits<float>::epsilon());
  for (double& x : v) x *= r;
  return v;
}

// The model's logits at a prompt's last position, by hand: with c_q = 0 every query is 0
// (RoPE and the QK norm keep it 0), so attention weighs all positions alike and returns the
// mean of the values; with c_fc = 0 the MLP adds relu(0)² = 0. So
//   x_t = norm(wte[p_t]),  y = proj · mean_t(c_v · norm(x_t)),  h = norm(x_last + y),
//   logits = 15 · tanh(lm_head · h / 15).
std::vector<double> hand_logits(GPT& model, const std::vector<TokenId>& prompt) {
  const Matrix wte = rows_of(weight(model, "transformer.wte.weight"));
  const Matrix c_v = rows_of(weight(model, "transformer.h.0.attn.c_v.weight"));
  const Matrix proj = rows_of(weight(model, "transformer.h.0.attn.c_proj.weight"));
  const Matrix head = rows_of(weight(model, "lm_head.weight"));
  const size_t d = wte[0].size();
  std::vector<double> mean_v(d, 0.0), last;
  for (TokenId token : prompt) {
    last = rms_norm(wte[static_cast<size_t>(token)]);
    const std::vector<double> v = times(c_v, rms_norm(last));
    for (size_t j = 0; j < d; ++j) mean_v[j] += v[j] / static_cast<double>(prompt.size());
  }
  const std::vector<double> y = times(proj, mean_v);
  for (size_t j = 0; j < d; ++j) last[j] += y[j];
  std::vector<double> logits = times(head, rms_norm(last));
  for (double& logit : logits) logit = 15.0 * std::tanh(logit / 15.0);
  return logits;
}

// Weights drawn from `seed`, then c_q and c_fc zeroed and lm_head and both projections made nonzero.
std::unique_ptr<GPT> averaging_model(uint64_t seed) {
  auto model = one_layer_model(seed);
  at::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  weight(*model, "transformer.h.0.attn.c_q.weight").zero_();
  weight(*model, "transformer.h.0.mlp.c_fc.weight").zero_();
  for (const char* name : {"lm_head.weight", "transformer.h.0.attn.c_proj.weight", "transformer.h.0.mlp.c_proj.weight"}) {
    at::Tensor w = weight(*model, name);
    w.copy_(at::normal(0.0, 0.5, w.sizes(), generator));
  }
  return model;
}

std::vector<TokenId> letter_tokens(const TaskExample& example) {
  std::vector<TokenId> ids;
  for (const std::string& letter : example.letters) ids.push_back(tokenizer()->encode(letter).at(0));
  return ids;
}

TEST(CategoricalEval, ThreeQuestionsScoreAsHandComputedLogitsSay) {
  const Tokenizer& tok = *tokenizer();
  auto model = averaging_model(11);
  const FixtureTask probe({"A", "A", "A"});
  const size_t n = FixtureTask::questions().size();

  // The letter each question's hand-computed logits pick (first maximum), and the logits
  // the model computes at the same positions from one padded batch.
  std::vector<size_t> hand_choice(n, 0);
  std::vector<nanochat::LetterQuestion> batch;
  std::vector<std::vector<double>> hand(n);
  for (size_t q = 0; q < n; ++q) {
    const TaskExample example = probe.get("test", q);
    batch.push_back({nanochat::render_for_completion(example.conversation, tok), letter_tokens(example)});
    hand[q] = hand_logits(*model, batch[q].prompt);
    for (size_t i = 1; i < batch[q].letters.size(); ++i) {
      if (hand[q][batch[q].letters[i]] > hand[q][batch[q].letters[hand_choice[q]]]) hand_choice[q] = i;
    }
  }
  ASSERT_NE(batch[0].prompt.size(), batch[1].prompt.size()) << "the fixture must need padding";
  EXPECT_FALSE(hand_choice[0] == hand_choice[1] && hand_choice[1] == hand_choice[2])
      << "the weights should make the questions' answers differ";
  {
    c10::InferenceMode inference;
    const TokenId bos = tok.special_id(nanochat::special_tokens::bos);
    const size_t longest = std::max({batch[0].prompt.size(), batch[1].prompt.size(), batch[2].prompt.size()});
    std::vector<int64_t> ids(n * longest, bos), last(n);
    for (size_t q = 0; q < n; ++q) {
      std::copy(batch[q].prompt.begin(), batch[q].prompt.end(), ids.begin() + static_cast<std::ptrdiff_t>(q * longest));
      last[q] = static_cast<int64_t>(batch[q].prompt.size()) - 1;
    }
    const at::Tensor logits =
        model->logits_at(at::tensor(ids, at::kLong).view({static_cast<int64_t>(n), static_cast<int64_t>(longest)}),
                         at::tensor(last, at::kLong));
    for (size_t q = 0; q < n; ++q) {
      for (TokenId letter : batch[q].letters) {
        EXPECT_NEAR(logits[q][letter].item<double>(), hand[q][letter], 1e-4) << "question " << q << " token " << letter;
      }
    }
  }
  EXPECT_EQ(nanochat::choose_letters(*model, batch, tok.special_id(nanochat::special_tokens::bos)), hand_choice);

  // The first two answers are the letters the logits favour, the third another one: 2 of 3.
  std::vector<std::string> answers;
  for (size_t q = 0; q < n; ++q) {
    const auto letters = probe.get("test", q).letters;
    answers.push_back(letters[q < 2 ? hand_choice[q] : (hand_choice[q] + 1) % letters.size()]);
  }
  const TaskRef ref{std::make_shared<FixtureTask>(answers), "test"};
  for (int64_t batch_size : {1, 2, 3, 8}) {
    const TaskScore score = nanochat::evaluate_categorical(*model, tok, ref, n, batch_size, {});
    EXPECT_EQ(score.passed, 2) << "batch size " << batch_size;
    EXPECT_EQ(score.total, 3) << "batch size " << batch_size;
  }
  // Two ranks with batches of 2: rank 0 takes questions 0 and 1, rank 1 question 2.
  const TaskScore rank0 = nanochat::evaluate_categorical(*model, tok, ref, n, 2, {0, 2});
  const TaskScore rank1 = nanochat::evaluate_categorical(*model, tok, ref, n, 2, {1, 2});
  EXPECT_EQ(rank0.total, 2);
  EXPECT_EQ(rank1.total, 1);
  EXPECT_EQ(rank0.passed + rank1.passed, 2);
  EXPECT_EQ(nanochat::evaluate_categorical(*model, tok, ref, 1, 2, {}).total, 1) << "max problems";
}

TEST(CategoricalEval, PaddedBatchAnswersAsOneQuestionAtATime) {
  const Tokenizer& tok = *tokenizer();
  auto model = one_layer_model(5);
  {
    at::NoGradGuard no_grad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(6);
    for (auto& [name, w] : model->state_dict()) w.copy_(at::normal(0.0, 0.5, w.sizes(), generator));
  }
  const FixtureTask probe({"A", "A", "A"});
  std::vector<nanochat::LetterQuestion> batch;
  for (size_t q = 0; q < FixtureTask::questions().size(); ++q) {
    const TaskExample example = probe.get("test", q);
    batch.push_back({nanochat::render_for_completion(example.conversation, tok), letter_tokens(example)});
  }
  const auto chosen = nanochat::choose_letters(*model, batch, tok.special_id(nanochat::special_tokens::bos));
  c10::InferenceMode inference;
  for (size_t q = 0; q < batch.size(); ++q) {
    const std::vector<int64_t> ids(batch[q].prompt.begin(), batch[q].prompt.end());
    const at::Tensor logits = model->forward(at::tensor(ids, at::kLong).view({1, -1}))[0][-1];  // (V)
    size_t best = 0;
    for (size_t i = 1; i < batch[q].letters.size(); ++i) {
      if (logits[batch[q].letters[i]].item<float>() > logits[batch[q].letters[best]].item<float>()) best = i;
    }
    EXPECT_EQ(chosen[q], best) << "question " << q;
  }
}

TEST(CategoricalEval, RefusesWhatItCannotScore) {
  const Tokenizer& tok = *tokenizer();
  auto model = one_layer_model(3);
  const TaskRef ref{std::make_shared<FixtureTask>(std::vector<std::string>{"A", "A", "A"}), "test"};
  EXPECT_THROW(nanochat::evaluate_categorical(*model, tok, ref, 3, 0, {}), nanochat::UsageError);
  const std::vector<nanochat::LetterQuestion> no_letters = {{{1, 2}, {}}};
  EXPECT_THROW(nanochat::choose_letters(*model, no_letters, 0), nanochat::Error);
  const at::Tensor ids = at::zeros({1, 4}, at::kLong), past_the_end = at::full({1}, 4, at::kLong);
  EXPECT_THROW(model->logits_at(ids, past_the_end), nanochat::Error);
}

}  // namespace

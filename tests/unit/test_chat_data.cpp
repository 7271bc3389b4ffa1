// Packed and padded chat rows (nanochat/chat_data.hpp): what each row holds, that the
// rows of a step do not depend on how ranks split them, that a position restores
// exactly, and that SFT's loss sees only the tokens the render mask trains on.
#include "nanochat/chat_data.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <numeric>

#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"

namespace {

using nanochat::Batch;
using nanochat::PackedRows;
using nanochat::PaddedRows;
using nanochat::RenderedConversation;
using nanochat::TokenId;

const c10::Device kCpu(c10::kCPU);

std::vector<int64_t> values(const at::Tensor& t) {
  at::Tensor flat = t.contiguous().view(-1);
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

// ids 10.. with the mask given; the vocabulary of the tiny model below is 64.
RenderedConversation conversation(std::vector<uint8_t> mask, TokenId first = 10) {
  RenderedConversation c;
  c.mask = std::move(mask);
  for (size_t i = 0; i < c.mask.size(); ++i) c.ids.push_back(first + static_cast<TokenId>(i));
  return c;
}

TEST(PackedRows, RowsOverlapByOneTokenAndWrapAfterTheEpoch) {
  std::vector<TokenId> stream(10);
  std::iota(stream.begin(), stream.end(), 0);
  PackedRows rows(stream, 3, 0, 1, kCpu);  // rows [0..3], [3..6], [6..9]
  ASSERT_EQ(rows.rows(), 3u);
  Batch b = rows.next(2);
  EXPECT_EQ(values(b.inputs), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values(b.targets), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  b = rows.next(2);  // row 2, then row 0 of the next epoch
  EXPECT_EQ(values(b.inputs), (std::vector<int64_t>{6, 7, 8, 0, 1, 2}));
}

TEST(PackedRows, TwoRanksTakeTheRowsOfOneProcess) {
  std::vector<TokenId> stream(200);
  std::iota(stream.begin(), stream.end(), 0);
  PackedRows one(stream, 4, 0, 1, kCpu), rank0(stream, 4, 0, 2, kCpu), rank1(stream, 4, 1, 2, kCpu);
  for (int step = 0; step < 3; ++step) {
    Batch whole = one.next(4);
    Batch a = rank0.next(2), b = rank1.next(2);
    EXPECT_TRUE(at::equal(whole.inputs, at::cat({a.inputs, b.inputs}))) << "step " << step;
    EXPECT_TRUE(at::equal(whole.targets, at::cat({a.targets, b.targets}))) << "step " << step;
  }
}

TEST(PackedRows, RestoredPositionContinuesExactlyAndOtherDataIsRefused) {
  std::vector<TokenId> stream(100);
  std::iota(stream.begin(), stream.end(), 0);
  PackedRows rows(stream, 4, 0, 1, kCpu), again(stream, 4, 0, 1, kCpu);
  rows.next(3);
  again.restore(rows.state());
  EXPECT_TRUE(at::equal(rows.next(3).inputs, again.next(3).inputs));
  PackedRows shorter(std::vector<TokenId>(stream.begin(), stream.begin() + 50), 4, 0, 1, kCpu);
  EXPECT_THROW(shorter.restore(rows.state()), nanochat::Error);
  PaddedRows padded({conversation({0, 1, 1})}, 0, 0, 1, kCpu);
  EXPECT_THROW(padded.restore(rows.state()), nanochat::Error);
}

TEST(PaddedRows, TargetsOnlyWhereTheMaskTrainsAndPaddingIsIgnored) {
  PaddedRows rows({conversation({0, 0, 1, 1, 0, 1}), conversation({0, 1, 1})}, 7, 0, 1, kCpu);
  Batch b = rows.next(2);
  ASSERT_EQ(b.inputs.sizes(), (at::IntArrayRef{2, 5}));
  // Row 0: ids 10..15; target t is id t+1, kept where mask[t+1] == 1.
  EXPECT_EQ(values(b.inputs[0]), (std::vector<int64_t>{10, 11, 12, 13, 14}));
  EXPECT_EQ(values(b.targets[0]), (std::vector<int64_t>{-1, 12, 13, -1, 15}));
  // Row 1: ids 10..12, padded with 7 to the longest row; padding never trains.
  EXPECT_EQ(values(b.inputs[1]), (std::vector<int64_t>{10, 11, 7, 7, 7}));
  EXPECT_EQ(values(b.targets[1]), (std::vector<int64_t>{11, 12, -1, -1, -1}));
}

TEST(PaddedRows, ConversationsWithNothingToTrainAreLeftOut) {
  PaddedRows rows({conversation({0, 0, 0}), conversation({1, 0, 0}), conversation({0, 0, 1})}, 7, 0, 1, kCpu);
  EXPECT_EQ(rows.rows(), 1u);
  EXPECT_EQ(rows.dropped(), 2u);  // the first token is never a target
  EXPECT_THROW(PaddedRows({conversation({0, 0})}, 7, 0, 1, kCpu), nanochat::Error);
}

// The SFT loss through the real model: a masked (user) position's target id does not
// reach the loss or any gradient; an assistant position's does.
class SftLossMask : public ::testing::Test {
 protected:
  void SetUp() override {
    nanochat::GPTConfig config;
    config.sequence_len = 16;
    config.vocab_size = 64;
    config.n_layer = 1;
    config.n_head = 1;
    config.n_kv_head = 1;
    config.n_embd = 32;
    model = std::make_unique<nanochat::GPT>(config);
    model->init_weights(3);
    // lm_head starts at zero (nanochat's init), which would make every gradient but its own 0.
    for (auto& [name, p] : model->state_dict()) {
      if (name == "lm_head.weight") {
        at::NoGradGuard no_grad;
        p.normal_(0, 0.02);
      }
    }
  }

  // Loss and every gradient of the batch made from `row`, with the inputs of `base`.
  std::pair<double, std::vector<at::Tensor>> loss_and_grads(const RenderedConversation& base,
                                                            const RenderedConversation& row) {
    Batch inputs = PaddedRows({base}, 0, 0, 1, kCpu).next(1);
    Batch targets = PaddedRows({row}, 0, 0, 1, kCpu).next(1);
    for (auto& [name, p] : model->state_dict()) p.mutable_grad() = at::Tensor();
    at::Tensor loss = model->forward(inputs.inputs, targets.targets);
    loss.backward();
    std::vector<at::Tensor> grads;
    for (auto& [name, p] : model->state_dict()) grads.push_back(p.grad().clone());
    return {loss.item<double>(), grads};
  }

  std::unique_ptr<nanochat::GPT> model;
};

TEST_F(SftLossMask, UserTargetsDoNotCountAssistantTargetsDo) {
  const RenderedConversation base = conversation({0, 0, 0, 0, 1, 1, 1, 0, 0, 1});
  const auto [loss, grads] = loss_and_grads(base, base);

  RenderedConversation user = base;
  user.ids[2] = 40;  // the target of position 1: user text (mask 0)
  const auto [user_loss, user_grads] = loss_and_grads(base, user);
  EXPECT_EQ(user_loss, loss);
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_TRUE(at::equal(user_grads[i], grads[i])) << "parameter " << i;

  RenderedConversation assistant = base;
  assistant.ids[5] = 40;  // the target of position 4: assistant text (mask 1)
  const auto [assistant_loss, assistant_grads] = loss_and_grads(base, assistant);
  EXPECT_NE(assistant_loss, loss);
  bool any_gradient_changed = false;
  for (size_t i = 0; i < grads.size(); ++i) any_gradient_changed |= !at::equal(assistant_grads[i], grads[i]);
  EXPECT_TRUE(any_gradient_changed);
}

}  // namespace

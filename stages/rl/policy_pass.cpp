// Forward passes over rollout rows (see policy_pass.hpp).
#include "policy_pass.hpp"

#include <ATen/ATen.h>

#include <algorithm>

namespace nanochat::rl {
namespace {

// Pads (rows, t) to (rows, T) with zeros on the right.
at::Tensor pad_to(const at::Tensor& x, int64_t time) {
  const int64_t missing = time - x.size(1);
  return missing == 0 ? x : at::constant_pad_nd(x, {0, missing}, 0.0);
}

}  // namespace

PolicyOutput policy_pass(GPT& model, const ValueHead* head, const RlBatch& batch, const RlSlice& slice,
                         const std::vector<int64_t>& lengths) {
  const int64_t time = batch.inputs.size(1);
  const int64_t used = *std::max_element(lengths.begin() + slice.begin, lengths.begin() + slice.end);
  const at::Tensor inputs = batch.inputs.slice(0, slice.begin, slice.end).narrow(1, 0, used);
  const at::Tensor targets = batch.targets.slice(0, slice.begin, slice.end).narrow(1, 0, used);
  const at::Tensor hidden = model.hidden_states(inputs);
  PolicyOutput out;
  out.logp = pad_to(model.token_losses(hidden, targets).to(at::kFloat).neg(), time);
  if (head != nullptr) out.values = pad_to((*head)(hidden), time);
  return out;
}

PolicyOutput policy_pass_no_grad(GPT& model, const ValueHead* head, const RlBatch& batch,
                                 const std::vector<int64_t>& lengths, int64_t rows_per_pass) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> logp, values;
  const int64_t rows = batch.inputs.size(0);
  for (int64_t begin = 0; begin < rows; begin += rows_per_pass) {
    PolicyOutput part = policy_pass(model, head, batch, RlSlice{begin, std::min(rows, begin + rows_per_pass)}, lengths);
    logp.push_back(part.logp);
    if (head != nullptr) values.push_back(part.values);
  }
  PolicyOutput out;
  out.logp = at::cat(logp, 0);
  if (head != nullptr) out.values = at::cat(values, 0);
  return out;
}

}  // namespace nanochat::rl

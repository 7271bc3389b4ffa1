// Shared training machinery: optimizer setup from plugins, bpb, greedy samples, checkpoints.
#include "nanochat/training.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>

#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/tensor_io.hpp"

namespace nanochat {
namespace {

std::vector<at::Tensor> tensors_of(const NamedTensors& named) {
  std::vector<at::Tensor> tensors;
  for (const auto& [name, tensor] : named) tensors.push_back(tensor);
  return tensors;
}

std::shared_ptr<Optimizer> make_optimizer(const std::string& plugin) {
  return PluginRegistry::instance().create<Optimizer>(PluginKind::optimizer, plugin);
}

// Every rank's digest, in rank order, on every rank (the 64-bit hash travels as int64 bits).
std::vector<FileDigest> gather_digests(const FileDigest& mine, Distributed& dist, c10::Device device) {
  at::Tensor local = at::tensor({static_cast<int64_t>(mine.xxh64), static_cast<int64_t>(mine.bytes)}, at::kLong).to(device);
  at::Tensor all = at::empty({2 * dist.world_size()}, local.options());
  dist.all_gather(all, local);
  at::Tensor host = all.cpu();
  std::vector<FileDigest> digests(static_cast<size_t>(dist.world_size()));
  for (int rank = 0; rank < dist.world_size(); ++rank) {
    digests[rank].xxh64 = static_cast<uint64_t>(host[2 * rank].item<int64_t>());
    digests[rank].bytes = static_cast<uint64_t>(host[2 * rank + 1].item<int64_t>());
  }
  return digests;
}

}  // namespace

void OptimizerSet::step() {
  for (auto& [name, optimizer] : optimizers) optimizer->step();
}

void OptimizerSet::zero_grad() {
  for (auto& [name, optimizer] : optimizers) optimizer->zero_grad();
}

void OptimizerSet::set_lr_multiplier(double multiplier) {
  for (auto& [name, optimizer] : optimizers) optimizer->set_lr_multiplier(multiplier);
}

void OptimizerSet::set_option_where_known(const std::string& option, double value) {
  for (auto& [name, optimizer] : optimizers) {
    if (optimizer->defaults().count(option)) optimizer->set_option(option, value);
  }
}

OptimizerState OptimizerSet::state_dict() const {
  OptimizerState all;
  for (const auto& [name, optimizer] : optimizers) {
    for (const auto& [key, tensor] : optimizer->state_dict()) all[name + "/" + key] = tensor;
  }
  return all;
}

void OptimizerSet::load_state_dict(const OptimizerState& state) {
  for (auto& [name, optimizer] : optimizers) {
    OptimizerState mine;
    const std::string prefix = name + "/";
    for (const auto& [key, tensor] : state) {
      if (key.rfind(prefix, 0) == 0) mine[key.substr(prefix.size())] = tensor;
    }
    optimizer->load_state_dict(mine);
  }
}

OptimizerSet make_optimizers(GPT& model, const OptimizerChoice& choice, std::shared_ptr<Distributed> dist) {
  ParamGroups groups = model.param_groups();
  const double scale = adamw_lr_scale(model.config().n_embd);
  OptimizerSet set;
  if (choice.embedding == choice.matrix) {
    throw UsageError("the matrix and embedding optimizers must be different plugins");
  }
  auto embedding = make_optimizer(choice.embedding);
  embedding->setup({ParamGroup{"unembedding", tensors_of(groups.unembedding), choice.unembedding_lr * scale, choice.weight_decay},
                    ParamGroup{"embedding", tensors_of(groups.embedding), choice.embedding_lr * scale, choice.weight_decay}},
                   {}, dist);
  auto matrix = make_optimizer(choice.matrix);
  matrix->setup({ParamGroup{"matrix", tensors_of(groups.matrix), choice.matrix_lr, choice.weight_decay}}, {}, dist);
  set.optimizers = {{choice.embedding, embedding}, {choice.matrix, matrix}};
  return set;
}

double evaluate_bpb(GPT& model, EvalBatches& batches, const at::Tensor& token_bytes, Distributed& dist) {
  torch::NoGradGuard no_grad;
  at::Tensor nats = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(model.device()));
  at::Tensor bytes = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(model.device()));
  at::Tensor byte_table = token_bytes.to(model.device());
  while (auto batch = batches.next()) {
    at::Tensor loss = model.forward(batch->inputs, batch->targets, LossReduction::None);  // (B, T)
    at::Tensor targets = batch->targets;
    at::Tensor valid = targets >= 0;
    at::Tensor counted_bytes = at::where(valid, byte_table.index_select(0, targets.clamp_min(0).flatten()).view_as(targets),
                                         at::zeros_like(targets));
    at::Tensor counted = counted_bytes > 0;
    nats += (loss.to(at::kDouble) * counted).sum();
    bytes += counted_bytes.to(at::kLong).sum();
  }
  at::Tensor totals = at::stack({nats, bytes.to(at::kDouble)});
  dist.all_reduce_sum(totals);
  double total_bytes = totals[1].item<double>();
  if (total_bytes == 0) throw Error("bits per byte: the evaluation batches hold no bytes");
  return totals[0].item<double>() / (std::log(2.0) * total_bytes);
}

std::string sample_greedy(GPT& model, const Tokenizer& tokenizer, const std::string& prompt, int max_tokens) {
  torch::NoGradGuard no_grad;
  std::vector<TokenId> ids = {tokenizer.special_id(special_tokens::bos)};
  for (TokenId id : tokenizer.encode(prompt)) ids.push_back(id);
  const size_t prompt_length = ids.size();
  KVCache cache = model.make_kv_cache(1, static_cast<int64_t>(ids.size()) + max_tokens);
  auto options = at::TensorOptions().dtype(at::kLong).device(model.device());
  at::Tensor input = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).to(model.device()).unsqueeze(0);
  for (int i = 0; i < max_tokens; ++i) {
    at::Tensor logits = model.forward(input, &cache);  // (1, T, V)
    int64_t next = logits.select(1, logits.size(1) - 1).argmax(-1).item<int64_t>();
    ids.push_back(static_cast<TokenId>(next));
    input = at::full({1, 1}, next, options);
  }
  return tokenizer.decode(std::vector<TokenId>(ids.begin() + static_cast<long>(prompt_length), ids.end()));
}

void save_training_checkpoint(const CheckpointFiles& files, const GPT& model, const OptimizerSet& optimizers,
                              const nlohmann::json& meta, Distributed& dist) {
  if (dist.is_main()) {
    std::filesystem::create_directories(files.dir);
    model.save(files.model());
  }
  dist.barrier();  // the folder exists before other ranks write into it
  NamedTensors state;
  for (const auto& [name, tensor] : optimizers.state_dict()) state.emplace_back(name, tensor);
  save_tensors(files.optimizer(dist.rank()), state);
  // Each rank hashes its own file (without a shared disk only it can see it); the gather
  // is also the barrier that holds meta back until every rank's state is on disk.
  std::vector<FileDigest> optimizer_digests = gather_digests(digest_file(files.optimizer(dist.rank())), dist, model.device());
  if (dist.is_main()) {
    nlohmann::json listed = meta;
    listed["files"] = checkpoint_file_list(files, digest_file(files.model()), optimizer_digests);
    write_json_file(files.meta(), listed);
  }
}

nlohmann::json load_training_checkpoint(const CheckpointFiles& files, GPT& model, OptimizerSet* optimizers, int rank) {
  if (!std::filesystem::exists(files.meta())) {
    throw Error("no checkpoint at step " + std::to_string(files.step) + " in " + files.dir.string() +
                " (" + files.meta().filename().string() + " is missing; a step counts only once its meta file is written)");
  }
  nlohmann::json meta = read_json_file(files.meta());
  const std::string remedy = "resume from an earlier step";
  verify_checkpoint_file(files, meta, files.model(), remedy);
  model.load(files.model());
  if (optimizers != nullptr) {
    verify_checkpoint_file(files, meta, files.optimizer(rank), remedy);
    LoadedTensors loaded = load_tensors(files.optimizer(rank), model.device());
    OptimizerState state;
    for (auto& [name, tensor] : loaded.tensors) state[name] = tensor;
    optimizers->load_state_dict(state);
  }
  return meta;
}

}  // namespace nanochat

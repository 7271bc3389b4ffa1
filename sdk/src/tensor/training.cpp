// Shared training machinery: optimizer setup from plugins, bpb, greedy samples, checkpoints.
#include "nanochat/training.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "nanochat/error.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/tensor_io.hpp"
#include "nanochat/token_shard.hpp"

namespace nanochat {
namespace {

std::vector<at::Tensor> tensors_of(const NamedTensors& named) {
  std::vector<at::Tensor> tensors;
  for (const auto& [name, tensor] : named) tensors.push_back(tensor);
  return tensors;
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

std::shared_ptr<Optimizer> make_optimizer(const std::string& plugin) {
  return PluginRegistry::instance().create<Optimizer>(PluginKind::optimizer, plugin);
}

void OptimizerSet::step() {
  for (auto& [name, optimizer] : optimizers) optimizer->step();
}

void OptimizerSet::zero_grad() {
  for (auto& [name, optimizer] : optimizers) optimizer->zero_grad();
}

void OptimizerSet::set_lr_multiplier(double multiplier) {
  for (auto& [name, optimizer] : optimizers) optimizer->set_lr_multiplier(multiplier);
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
  // (plugin, group) in nanochat's order: AdamW's groups, then Muon's.
  const std::vector<std::pair<std::string, ParamGroup>> assigned = {
      {choice.embedding, ParamGroup{"unembedding", tensors_of(groups.unembedding), choice.unembedding_lr * scale}},
      {choice.embedding, ParamGroup{"embedding", tensors_of(groups.embedding), choice.embedding_lr * scale}},
      {choice.matrix, ParamGroup{"matrix", tensors_of(groups.matrix), choice.matrix_lr}},
  };
  OptimizerSet set;
  std::map<std::string, std::vector<ParamGroup>> groups_of;
  std::map<std::string, OptionSpecs> declared;
  for (const auto& [plugin, group] : assigned) {
    if (declared.count(plugin) == 0) {
      set.optimizers.emplace_back(plugin, make_optimizer(plugin));
      declared[plugin] = set.optimizers.back().second->describe_options();
    }
    groups_of[plugin].push_back(group);
  }
  check_plugin_options(kOptimizerOptionFlag, choice.plugin_options, declared);
  if (choice.weight_decay > 0.0 &&
      std::none_of(set.optimizers.begin(), set.optimizers.end(), [](const auto& entry) { return entry.second->supports_weight_decay(); })) {
    std::string in_use;
    for (const auto& entry : set.optimizers) in_use += (in_use.empty() ? "" : ", ") + entry.first;
    throw UsageError("--weight-decay " + std::to_string(choice.weight_decay) + ": no optimizer in use (" + in_use +
                     ") supports weight decay; choose one that does (e.g. adamw) or use 0");
  }
  for (auto& [plugin, optimizer] : set.optimizers) {
    std::vector<ParamGroup>& mine = groups_of[plugin];
    if (optimizer->supports_weight_decay()) {
      for (ParamGroup& group : mine) group.weight_decay = choice.weight_decay;
    }
    auto options = choice.plugin_options.find(plugin);
    optimizer->setup(std::move(mine), options == choice.plugin_options.end() ? OptimizerOptions{} : options->second, dist);
  }
  return set;
}

namespace {

// Adds one batch's summed losses to totals = [nats over targets with bytes, their bytes,
// nats over every counted target, counted targets].
void add_token_losses(GPT& model, const Batch& batch, const at::Tensor& byte_table, at::Tensor& totals) {
  at::Tensor loss = model.forward(batch.inputs, batch.targets, LossReduction::None).to(at::kDouble);  // (B, T)
  const at::Tensor& targets = batch.targets;
  at::Tensor valid = targets >= 0;
  at::Tensor bytes = at::where(valid, byte_table.index_select(0, targets.clamp_min(0).flatten()).view_as(targets),
                               at::zeros_like(targets));
  totals[0] += (loss * (bytes > 0)).sum();
  totals[1] += bytes.sum().to(at::kDouble);
  totals[2] += (loss * valid).sum();
  totals[3] += valid.sum().to(at::kDouble);
}

TokenLossTotals reduce_totals(at::Tensor totals, Distributed& dist) {
  dist.all_reduce_sum(totals);
  totals = totals.cpu();
  return TokenLossTotals{totals[0].item<double>(), totals[1].item<double>(), totals[2].item<double>(),
                         totals[3].item<double>()};
}

}  // namespace

at::Tensor load_token_bytes_tensor(const std::filesystem::path& tokenizer_dir) {
  const auto lengths = load_token_bytes(tokenizer_dir);
  return at::tensor(std::vector<int64_t>(lengths.begin(), lengths.end()), at::kLong);
}

double TokenLossTotals::bpb() const {
  if (bytes == 0) throw Error("bits per byte: the evaluation batches hold no bytes");
  return nats_with_bytes / (std::log(2.0) * bytes);
}

double TokenLossTotals::mean_loss() const {
  if (targets == 0) throw Error("loss: the evaluation batches hold no targets");
  return nats / targets;
}

double evaluate_bpb(GPT& model, EvalBatches& batches, const at::Tensor& token_bytes, Distributed& dist) {
  torch::NoGradGuard no_grad;
  at::Tensor totals = at::zeros({4}, at::TensorOptions().dtype(at::kDouble).device(model.device()));
  const at::Tensor byte_table = token_bytes.to(model.device());
  while (auto batch = batches.next()) add_token_losses(model, *batch, byte_table, totals);
  return reduce_totals(totals, dist).bpb();
}

TokenLossTotals evaluate_token_losses(GPT& model, const std::vector<Batch>& batches, const at::Tensor& token_bytes,
                                      Distributed& dist) {
  torch::NoGradGuard no_grad;
  at::Tensor totals = at::zeros({4}, at::TensorOptions().dtype(at::kDouble).device(model.device()));
  const at::Tensor byte_table = token_bytes.to(model.device());
  for (const Batch& batch : batches) add_token_losses(model, batch, byte_table, totals);
  return reduce_totals(totals, dist);
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

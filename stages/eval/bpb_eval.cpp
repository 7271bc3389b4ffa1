// Bits per byte of a checkpoint on the token shards (see bpb_eval.hpp).
#include "bpb_eval.hpp"

#include <ATen/ATen.h>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "base_loss_report.hpp"
#include "eval_common.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/data_loader.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/log.hpp"
#include "nanochat/token_shard.hpp"
#include "nanochat/training.hpp"

namespace po = boost::program_options;

namespace nanochat::eval {

void add_bpb_options(po::options_description& d, BpbOptions& o) {
  d.add_options()("split-tokens", po::value(&o.split_tokens)->default_value(o.split_tokens),
                  "bpb: tokens of each split, all ranks together");
}

void run_bpb_eval(const EvalOptions& options, const BpbOptions& bpb) {
  if (options.device_batch_size < 1) throw UsageError("--device-batch-size must be at least 1");
  if (bpb.split_tokens < 1) throw UsageError("--split-tokens must be at least 1");
  EvalRun run = start_eval(options);
  GPT& model = *run.model.model;
  const at::Tensor token_bytes = load_token_bytes_tensor(artifact_dir(Artifact::tokenizer, options.base_dir));

  DataLoaderOptions data;
  data.data_dir = artifact_dir(Artifact::base_data, options.base_dir);
  data.batch_size = options.device_batch_size;
  data.seq_len = model.config().sequence_len;
  data.rank = run.process.dist->rank();
  data.world_size = run.process.dist->world_size();
  data.device = run.process.device;
  data.tokenizer_fingerprint = tokenizer_fingerprint(*run.model.tokenizer);
  nlohmann::json summary;
  for (DataSplit split : {DataSplit::train, DataSplit::val}) {
    data.split = split;
    EvalBatches batches(DataLoader(data), static_cast<uint64_t>(bpb.split_tokens));
    const double bpb = evaluate_bpb(model, batches, token_bytes, *run.process.dist);
    summary[fmt::format("{} bpb", data_split_name(split))] = bpb;
    if (run.is_main()) fmt::print("{} bpb: {:.4f} ({} batches of {}x{} per rank)\n", data_split_name(split), bpb, batches.steps(), data.batch_size, data.seq_len);
  }
  if (!run.is_main()) return;
  const auto file = write_eval_result(options, run,
                                      {{"summary", summary}, {"split_tokens", bpb.split_tokens}, {"sequence_len", data.seq_len}});
  log::info("bpb: results in {}", file.string());
  if (run.model.source == "base") write_base_loss_report(options.base_dir);
}

}  // namespace nanochat::eval

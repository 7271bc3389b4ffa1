// The pretraining data loader (data_loader.hpp): a split's shards as one mapped token stream,
// rows of T+1 tokens picked by (batch, rank, world), pinned host tensors copied to the device
// without blocking, and the JSON state that lets a resumed run continue with the next batch.
#include "nanochat/data_loader.hpp"

#include <ATen/ops/empty.h>
#include <c10/core/TensorOptions.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace nanochat {
namespace {

// Messages are built without fmt: in LibTorch code fmt's headers are LibTorch's bundled ones,
// which do not match the system libfmt that the SDK links.
template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace

// The shards of one split back to back, with the fingerprint that names this exact shard set.
class TokenStream {
 public:
  explicit TokenStream(const DataLoaderOptions& options) {
    const TokenShardIndex index = TokenShardIndex::load(options.data_dir);
    const fs::path index_file = options.data_dir / TokenShardIndex::kFile;
    if (options.tokenizer_fingerprint && *options.tokenizer_fingerprint != index.tokenizer_fingerprint) {
      throw Error(str("the token shards in '", options.data_dir.string(), "' were made with another tokenizer (fingerprint ",
                      hex64(index.tokenizer_fingerprint), ", this run's is ", hex64(*options.tokenizer_fingerprint),
                      "); remake them with `nanochat run data` after training the tokenizer"));
    }
    std::string identity = str(data_split_name(options.split), "|", hex64(index.tokenizer_fingerprint), "|");
    uint64_t total = 0;
    for (const TokenShardEntry& entry : index.split(options.split)) {
      TokenShard shard(options.data_dir / entry.file, options.verify_checksums);
      const TokenShardHeader& header = shard.header();
      if (header.tokens != entry.tokens || header.documents != entry.documents ||
          header.payload_checksum != entry.checksum || header.vocab_size != index.vocab_size) {
        throw Error(str("token shard '", shard.path().string(), "' does not match '", index_file.string(), "' (tokens ",
                        header.tokens, " vs ", entry.tokens, ", checksum ", hex64(header.payload_checksum), " vs ",
                        hex64(entry.checksum), "): the folder mixes two runs of `nanochat run data`; run it again"));
      }
      identity += str(entry.file, ":", entry.tokens, ":", hex64(entry.checksum), ";");
      starts_.push_back(total);
      total += header.tokens;
      shards_.push_back(std::move(shard));
    }
    size_ = total;
    fingerprint_ = hex64(xxh64(identity.data(), identity.size()));
  }

  uint64_t size() const { return size_; }
  const std::string& fingerprint() const { return fingerprint_; }

  // Tokens [begin, begin + count) of the stream, across shard boundaries.
  void read(uint64_t begin, uint64_t count, int64_t* out) const {
    auto shard = std::upper_bound(starts_.begin(), starts_.end(), begin) - starts_.begin() - 1;
    while (count > 0) {
      const uint64_t offset = begin - starts_[shard];
      const uint64_t take = std::min(count, shards_[shard].size() - offset);
      shards_[shard].read(offset, take, out);
      out += take;
      begin += take;
      count -= take;
      ++shard;
    }
  }

 private:
  std::vector<TokenShard> shards_;
  std::vector<uint64_t> starts_;  // stream position of each shard's first token
  uint64_t size_ = 0;
  std::string fingerprint_;
};

DataLoader::DataLoader(const DataLoaderOptions& options) : options_(options) {
  if (options.batch_size < 1 || options.seq_len < 1) {
    throw Error(str("data loader: batch size ", options.batch_size, " and sequence length ", options.seq_len,
                    " must both be at least 1"));
  }
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    throw Error(str("data loader: rank ", options.rank, " is not in a world of ", options.world_size));
  }
  stream_ = std::make_shared<const TokenStream>(options);
  if (stream_->size() < static_cast<uint64_t>(options.seq_len) + 1) {
    throw Error(str("the ", data_split_name(options.split), " split in '", options.data_dir.string(), "' has ",
                    stream_->size(), " tokens, fewer than one row of T + 1 = ", options.seq_len + 1,
                    "; make shards from a bigger corpus or lower the sequence length"));
  }
}

uint64_t DataLoader::tokens() const { return stream_->size(); }

uint64_t DataLoader::rows_per_epoch() const { return (stream_->size() - 1) / options_.seq_len; }

Batch DataLoader::next() { return batch_at(position_++); }

Batch DataLoader::batch_at(uint64_t index) const {
  const auto B = static_cast<uint64_t>(options_.batch_size), T = static_cast<uint64_t>(options_.seq_len);
  const uint64_t R = rows_per_epoch();
  const uint64_t first_row = (index * options_.world_size + options_.rank) * B;

  // Pinned memory lets the copy to a GPU run asynchronously; the caching host allocator keeps a
  // block from being reused until its copy has finished.
  const bool to_gpu = !options_.device.is_cpu();
  const auto host = at::TensorOptions().dtype(at::kLong).pinned_memory(to_gpu);
  Batch batch;
  batch.inputs = at::empty({options_.batch_size, options_.seq_len}, host);
  batch.targets = at::empty({options_.batch_size, options_.seq_len}, host);
  batch.epoch = first_row / R;
  int64_t* inputs = batch.inputs.data_ptr<int64_t>();
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  std::vector<int64_t> row(T + 1);
  for (uint64_t i = 0; i < B; ++i) {
    stream_->read(((first_row + i) % R) * T, T + 1, row.data());
    std::memcpy(inputs + i * T, row.data(), T * sizeof(int64_t));
    std::memcpy(targets + i * T, row.data() + 1, T * sizeof(int64_t));
  }
  if (to_gpu) {
    batch.inputs = batch.inputs.to(options_.device, /*non_blocking=*/true);
    batch.targets = batch.targets.to(options_.device, /*non_blocking=*/true);
  }
  return batch;
}

DataLoaderState DataLoader::state() const {
  DataLoaderState state;
  state.split = data_split_name(options_.split);
  state.dataset = stream_->fingerprint();
  state.seq_len = options_.seq_len;
  state.batch_size = options_.batch_size;
  state.world_size = options_.world_size;
  state.rows = position_ * static_cast<uint64_t>(options_.world_size) * options_.batch_size;
  state.epoch = state.rows / rows_per_epoch();
  return state;
}

void DataLoader::restore(const DataLoaderState& state) {
  const std::string split = data_split_name(options_.split);
  if (state.split != split) {
    throw Error(str("cannot resume the ", split, " data loader from a state of the ", state.split, " split"));
  }
  if (state.dataset != stream_->fingerprint()) {
    throw Error(str("cannot resume the data loader: the saved position is in another shard set (dataset ",
                    state.dataset, ", the shards in '", options_.data_dir.string(), "' are ", stream_->fingerprint(),
                    "); resume with the shards the checkpoint was trained on"));
  }
  if (state.seq_len != options_.seq_len) {
    throw Error(str("cannot resume the data loader: the saved position is in rows of ", state.seq_len,
                    " tokens, this run uses --max-seq-len ", options_.seq_len));
  }
  const uint64_t rows_per_batch = static_cast<uint64_t>(options_.world_size) * options_.batch_size;
  if (state.rows % rows_per_batch != 0) {
    throw Error(str("cannot resume the data loader: ", state.rows, " rows were taken (world size ", state.world_size,
                    " x batch ", state.batch_size, "), not a whole number of batches of world size ",
                    options_.world_size, " x batch ", options_.batch_size,
                    "; resume with the world and batch size of the saved run"));
  }
  position_ = state.rows / rows_per_batch;
}

std::string DataLoaderState::to_json() const {
  Json json = {{"split", split},           {"dataset", dataset},       {"seq_len", seq_len}, {"rows", rows},
               {"batch_size", batch_size}, {"world_size", world_size}, {"epoch", epoch}};
  return json.dump();
}

DataLoaderState DataLoaderState::from_json(std::string_view text) {
  DataLoaderState state;
  try {
    Json json = Json::parse(text);
    state.split = json.at("split").get<std::string>();
    state.dataset = json.at("dataset").get<std::string>();
    state.seq_len = json.at("seq_len").get<int64_t>();
    state.rows = json.at("rows").get<uint64_t>();
    state.batch_size = json.at("batch_size").get<int64_t>();
    state.world_size = json.at("world_size").get<int>();
    state.epoch = json.at("epoch").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(str("malformed data loader state in checkpoint metadata: ", e.what()));
  }
  return state;
}

EvalBatches::EvalBatches(const DataLoader& loader, uint64_t eval_tokens) : loader_(loader) {
  const DataLoaderOptions& options = loader.options();
  const uint64_t rows_per_step = static_cast<uint64_t>(options.batch_size) * options.world_size;
  const uint64_t wanted = eval_tokens / (rows_per_step * options.seq_len);
  const uint64_t one_epoch = loader.rows_per_epoch() / rows_per_step;
  steps_ = std::max<uint64_t>(1, std::min(wanted, one_epoch));
}

std::optional<Batch> EvalBatches::next() {
  if (taken_ == steps_) return std::nullopt;
  return loader_.batch_at(taken_++);
}

}  // namespace nanochat

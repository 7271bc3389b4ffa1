// The pretraining data loader on hand-made shards: every batch holds exactly the rows the header
// comment of data_loader.hpp defines (across shard boundaries and epochs); the ranks of a world of
// two together take exactly what one rank with twice the batch takes; a saved state resumes with
// the next batch (also under another split of the same total batch); states, shards and indexes
// that do not belong are refused with an Error; evaluation passes are fixed.
#include <gtest/gtest.h>

#include <ftw.h>
#include <unistd.h>

#include "nanochat/data_loader.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

constexpr uint64_t kFingerprint = 0xfeedULL;

// Removes a folder tree without std::filesystem::remove_all: in a process linked with the
// LibTorch wheel, that symbol resolves to LibTorch's copy, which calls a libstdc++ function that
// Debian 12's libstdc++ lacks and crashes.
void remove_tree(const fs::path& root) {
  nftw(root.c_str(), [](const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }, 16,
       FTW_DEPTH | FTW_PHYS);
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nanochat-loader-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() { remove_tree(path); }
};

struct Dataset {
  std::vector<TokenId> train;  // the train split as one stream
  std::vector<TokenId> val;
};

// Shards of the given sizes (train ones, then one val shard) holding a recognizable sequence:
// token k of the whole stream is (k * step + salt) mod vocab.
Dataset make_dataset(const fs::path& dir, const std::vector<size_t>& train_sizes, size_t val_size,
                     uint32_t vocab = 100000, TokenId step = 1, TokenId salt = 0) {
  Dataset data;
  TokenShardIndex index;
  index.tokenizer = "test";
  index.tokenizer_fingerprint = kFingerprint;
  index.vocab_size = vocab;
  index.bos_id = static_cast<TokenId>(vocab - 1);
  std::vector<size_t> sizes = train_sizes;
  sizes.push_back(val_size);
  TokenId k = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    std::vector<TokenId> tokens(sizes[s]);
    for (TokenId& token : tokens) token = static_cast<TokenId>((int64_t{k++} * step + salt) % vocab);
    const bool is_val = s + 1 == sizes.size();
    std::vector<TokenId>& split = is_val ? data.val : data.train;
    split.insert(split.end(), tokens.begin(), tokens.end());
    TokenShardEntry entry;
    entry.file = "shard_0000" + std::to_string(s) + ".bin";
    entry.split = is_val ? DataSplit::val : DataSplit::train;
    entry.tokens = tokens.size();
    entry.documents = 1;
    entry.checksum = write_token_shard(dir / entry.file, tokens.data(), tokens.size(), 1, vocab).payload_checksum;
    index.shards.push_back(entry);
  }
  index.save(dir);
  return data;
}

DataLoaderOptions options_for(const fs::path& dir, int64_t batch, int64_t seq, int rank = 0, int world = 1) {
  DataLoaderOptions options;
  options.data_dir = dir;
  options.batch_size = batch;
  options.seq_len = seq;
  options.rank = rank;
  options.world_size = world;
  return options;
}

std::vector<int64_t> values(const at::Tensor& tensor) {
  at::Tensor cpu = tensor.cpu().contiguous();
  const int64_t* data = cpu.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + cpu.numel());
}

std::vector<int64_t> stacked(const std::vector<Batch>& batches, bool targets) {
  std::vector<int64_t> out;
  for (const Batch& batch : batches) {
    std::vector<int64_t> part = values(targets ? batch.targets : batch.inputs);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

TEST(DataLoader, BatchesHoldExactlyTheDefinedRows) {
  TempDir dir;
  for (uint32_t vocab : {100000u, 512u}) {  // both token widths
    const Dataset data = make_dataset(dir.path, {37, 50, 13}, 20, vocab, 7, 3);
    const int64_t B = 3, T = 7;
    DataLoader loader(options_for(dir.path, B, T));
    const uint64_t R = (data.train.size() - 1) / T;
    ASSERT_EQ(loader.tokens(), 100u);
    ASSERT_EQ(loader.rows_per_epoch(), R);
    for (uint64_t b = 0; b < 13; ++b) {  // 39 rows: almost three epochs of 14
      const Batch batch = loader.next();
      ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{B, T}));
      ASSERT_EQ(batch.inputs.scalar_type(), at::kLong);
      EXPECT_EQ(batch.epoch, b * B / R);
      const std::vector<int64_t> inputs = values(batch.inputs), targets = values(batch.targets);
      for (int64_t i = 0; i < B; ++i) {
        const uint64_t start = ((b * B + i) % R) * T;
        for (int64_t t = 0; t < T; ++t) {
          ASSERT_EQ(inputs[i * T + t], data.train[start + t]) << "batch " << b << " row " << i;
          ASSERT_EQ(targets[i * T + t], data.train[start + t + 1]) << "batch " << b << " row " << i;
        }
      }
    }
    remove_tree(dir.path);
    fs::create_directories(dir.path);
  }
}

TEST(DataLoader, WrapsAroundAtTheEndOfAnEpoch) {
  TempDir dir;
  make_dataset(dir.path, {30}, 10);
  DataLoader loader(options_for(dir.path, 1, 7));  // R = 29 / 7 = 4 rows
  ASSERT_EQ(loader.rows_per_epoch(), 4u);
  EXPECT_EQ(values(loader.batch_at(4).inputs), values(loader.batch_at(0).inputs));
  EXPECT_EQ(values(loader.batch_at(9).targets), values(loader.batch_at(1).targets));
  EXPECT_EQ(loader.batch_at(3).epoch, 0u);
  EXPECT_EQ(loader.batch_at(4).epoch, 1u);
  EXPECT_EQ(loader.batch_at(9).epoch, 2u);
}

// The guarantee: for every batch number b, rank 0's and rank 1's b-th batches of a world of two
// (batch B each), stacked in rank order, equal the b-th batch of a world of one with batch 2B,
// and equal batches 2b and 2b + 1 of a world of one with batch B (gradient accumulation).
TEST(DataLoader, TwoRanksTogetherTakeWhatOneRankWithDoubleBatchTakes) {
  TempDir dir;
  make_dataset(dir.path, {41, 60}, 20, 100000, 5, 1);
  const int64_t B = 2, T = 6;
  DataLoader rank0(options_for(dir.path, B, T, 0, 2)), rank1(options_for(dir.path, B, T, 1, 2));
  DataLoader single(options_for(dir.path, 2 * B, T)), accumulating(options_for(dir.path, B, T));
  for (int b = 0; b < 25; ++b) {  // several epochs (R = 16)
    const std::vector<Batch> ranks = {rank0.next(), rank1.next()};
    const Batch whole = single.next();
    const std::vector<Batch> micro = {accumulating.next(), accumulating.next()};
    for (bool targets : {false, true}) {
      const std::vector<int64_t> expected = values(targets ? whole.targets : whole.inputs);
      EXPECT_EQ(stacked(ranks, targets), expected) << "batch " << b;
      EXPECT_EQ(stacked(micro, targets), expected) << "batch " << b;
    }
  }
}

TEST(DataLoader, ResumeContinuesWithExactlyTheNextBatches) {
  TempDir dir;
  make_dataset(dir.path, {64, 64}, 16);
  DataLoader original(options_for(dir.path, 4, 8));
  for (int i = 0; i < 9; ++i) original.next();
  const std::string saved = original.state().to_json();

  const DataLoaderState state = DataLoaderState::from_json(saved);
  EXPECT_EQ(state.rows, 36u);
  EXPECT_EQ(state.split, "train");
  EXPECT_EQ(state.seq_len, 8);
  EXPECT_EQ(state.epoch, 36u / 15);

  DataLoader resumed(options_for(dir.path, 4, 8));
  resumed.restore(state);
  EXPECT_EQ(resumed.position(), 9u);
  for (int i = 0; i < 10; ++i) {
    const Batch a = original.next(), b = resumed.next();
    EXPECT_EQ(values(a.inputs), values(b.inputs)) << i;
    EXPECT_EQ(values(a.targets), values(b.targets)) << i;
  }
}

TEST(DataLoader, ResumeUnderAnotherSplitOfTheSameTotalBatch) {
  TempDir dir;
  make_dataset(dir.path, {200}, 16);
  DataLoader single(options_for(dir.path, 4, 5));
  for (int i = 0; i < 3; ++i) single.next();
  const DataLoaderState state = single.state();  // 12 rows taken

  DataLoader rank0(options_for(dir.path, 2, 5, 0, 2)), rank1(options_for(dir.path, 2, 5, 1, 2));
  rank0.restore(state);
  rank1.restore(state);
  const Batch whole = single.next();
  EXPECT_EQ(stacked({rank0.next(), rank1.next()}, false), values(whole.inputs));

  DataLoader odd(options_for(dir.path, 5, 5, 0, 2));  // 12 rows are not whole batches of 10
  EXPECT_NE(error_of([&] { odd.restore(state); }).find("not a whole number of batches"), std::string::npos);
}

TEST(DataLoader, RefusesStatesThatDoNotBelong) {
  TempDir dir, other;
  make_dataset(dir.path, {100}, 30);
  make_dataset(other.path, {100}, 30, 100000, 3);
  DataLoader loader(options_for(dir.path, 2, 4));
  loader.next();
  const DataLoaderState state = loader.state();

  DataLoader elsewhere(options_for(other.path, 2, 4));
  EXPECT_NE(error_of([&] { elsewhere.restore(state); }).find("another shard set"), std::string::npos);
  DataLoader longer(options_for(dir.path, 2, 5));
  EXPECT_NE(error_of([&] { longer.restore(state); }).find("max-seq-len"), std::string::npos);
  DataLoaderOptions val_options = options_for(dir.path, 2, 4);
  val_options.split = DataSplit::val;
  DataLoader val(val_options);
  EXPECT_NE(error_of([&] { val.restore(state); }).find("train split"), std::string::npos);
  EXPECT_THROW(DataLoaderState::from_json("{\"split\": \"train\"}"), Error);
  EXPECT_THROW(DataLoaderState::from_json("not json"), Error);
}

TEST(DataLoader, RefusesShardsThatDoNotBelong) {
  TempDir dir;
  make_dataset(dir.path, {50, 50}, 20);
  auto open = [&](DataLoaderOptions options) { DataLoader loader(options); };

  DataLoaderOptions options = options_for(dir.path, 2, 4);
  options.tokenizer_fingerprint = kFingerprint + 1;
  EXPECT_NE(error_of([&] { open(options); }).find("another tokenizer"), std::string::npos);
  options.tokenizer_fingerprint = kFingerprint;
  EXPECT_NO_THROW(open(options));
  EXPECT_NE(error_of([&] { open(options_for(dir.path, 1, 100)); }).find("fewer than one row"), std::string::npos);

  // A valid shard from another run in place of one the index lists.
  const std::vector<TokenId> stranger(50, 7);
  write_token_shard(dir.path / "shard_00001.bin", stranger.data(), stranger.size(), 1, 100000);
  EXPECT_NE(error_of([&] { open(options_for(dir.path, 2, 4)); }).find("does not match"), std::string::npos);

  // A truncated shard.
  make_dataset(dir.path, {50, 50}, 20);
  ASSERT_EQ(::truncate((dir.path / "shard_00000.bin").c_str(), 100), 0);
  const std::string truncated = error_of([&] { open(options_for(dir.path, 2, 4)); });
  EXPECT_NE(truncated.find("shard_00000.bin"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;

  fs::remove(dir.path / "index.json");
  EXPECT_NE(error_of([&] { open(options_for(dir.path, 2, 4)); }).find("nanochat run data"), std::string::npos);
}

TEST(DataLoader, RefusesBadShapes) {
  TempDir dir;
  make_dataset(dir.path, {50}, 20);
  EXPECT_THROW(DataLoader(options_for(dir.path, 0, 4)), Error);
  EXPECT_THROW(DataLoader(options_for(dir.path, 1, 4, 2, 2)), Error);
}

TEST(EvalBatches, AreAFixedPassOverTheValSplit) {
  TempDir dir;
  const Dataset data = make_dataset(dir.path, {100}, 41);
  DataLoaderOptions options = options_for(dir.path, 2, 4);
  options.split = DataSplit::val;
  const DataLoader val(options);  // R = 40 / 4 = 10 rows

  EXPECT_EQ(EvalBatches(val, 16).steps(), 2u);
  EXPECT_EQ(EvalBatches(val, 1).steps(), 1u);
  EXPECT_EQ(EvalBatches(val, 1000).steps(), 5u);  // capped at one epoch of rows

  EvalBatches first(val, 24), second(val, 24);
  ASSERT_EQ(first.steps(), 3u);
  for (uint64_t s = 0; s < first.steps(); ++s) {
    const std::optional<Batch> a = first.next(), b = second.next();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(values(a->inputs), values(b->inputs));
    EXPECT_EQ(values(a->inputs)[0], data.val[s * 2 * 4]);
  }
  EXPECT_FALSE(first.next().has_value());
}

TEST(DataLoader, CudaBatchesEqualCpuBatches) {
  c10::Device cuda(c10::kCPU);
  try {
    cuda = resolve_device("cuda");
  } catch (const Error& e) {
    GTEST_SKIP() << "no CUDA device here: " << e.what();
  }
  TempDir dir;
  make_dataset(dir.path, {300}, 20);
  DataLoaderOptions options = options_for(dir.path, 4, 16);
  DataLoader cpu(options);
  options.device = cuda;
  DataLoader gpu(options);
  for (int i = 0; i < 8; ++i) {
    const Batch a = cpu.next(), b = gpu.next();
    EXPECT_TRUE(b.inputs.is_cuda());
    EXPECT_EQ(values(a.inputs), values(b.inputs));
    EXPECT_EQ(values(a.targets), values(b.targets));
  }
}

}  // namespace

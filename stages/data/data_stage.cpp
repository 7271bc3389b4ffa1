// `nanochat run data`: tokenizes text corpora with the trained tokenizer, on every core, into
// token shards (sdk token_shard.hpp) under $NANOCHAT_BASE_DIR/base_data/, BOS before each
// document, the last shard held out for validation, and index.json written last. Torch-free.
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <iostream>
#include <regex>
#include <thread>

#include "document_stream.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/token_shard.hpp"
#include "nanochat/tokenizer.hpp"
#include "shard_builder.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::data_stage {
namespace {

// Text handed to the tokenizer at once: large enough to keep every core busy, small enough
// that reading the next batch overlaps encoding this one.
constexpr size_t kBatchBytes = 4 << 20;
constexpr size_t kBatchDocuments = 8192;

std::vector<std::string> read_batch(DocumentStream& stream) {
  std::vector<std::string> batch;
  size_t bytes = 0;
  std::string document;
  while (bytes < kBatchBytes && batch.size() < kBatchDocuments && stream.next(document)) {
    bytes += document.size();
    batch.push_back(std::move(document));
  }
  return batch;
}

// Shards of an earlier run that the new index does not list (it may have been longer).
void remove_stale_shards(const fs::path& dir, const std::vector<TokenShardEntry>& kept) {
  static const std::regex shard_name(R"(shard_\d{5,}\.bin)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, shard_name)) continue;
    bool listed = std::any_of(kept.begin(), kept.end(), [&](const TokenShardEntry& s) { return s.file == name; });
    if (!listed) fs::remove(entry.path(), ec);
  }
}

class DataStage final : public Stage {
 public:
  void declare_options(po::options_description& options) override {
    options.add_options()
        ("corpus", po::value<std::vector<std::string>>()->composing(),
         "a .txt/.jsonl(.gz) or .parquet file, or a folder of them; repeat for several corpora (required)")
        ("text-field", po::value<std::string>()->default_value("text"), "the JSONL field or Parquet column holding the text")
        ("max-chars", po::value<uint64_t>()->default_value(0), "stop after this many characters (0 = whole corpus)")
        ("shard-tokens", po::value<uint64_t>()->default_value(10'000'000), "tokens per shard")
        ("val-fraction", po::value<double>()->default_value(0.1, "0.1"),
         "share of the tokens held out as the val shard, at the end of the stream (capped at one shard)")
        ("tokenizer", po::value<std::string>()->default_value("bpe"), "the tokenizer plugin")
        ("tokenizer-dir", po::value<std::string>(), "the trained tokenizer (default: $NANOCHAT_BASE_DIR/tokenizer)")
        ("out-dir", po::value<std::string>(), "where to write the shards (default: $NANOCHAT_BASE_DIR/base_data)")
        ("threads", po::value<unsigned>()->default_value(0), "encoding threads (0 = every core)")
        ("skip-bad", po::bool_switch(), "skip malformed JSONL lines and unreadable files (counted) instead of stopping");
  }

  void run(const po::variables_map& options, const StageContext& context) override {
    if (!options.count("corpus")) {
      throw UsageError("--corpus is required: a .txt/.jsonl(.gz) or .parquet file, or a folder of them");
    }
    const std::vector<std::string> sources = options["corpus"].as<std::vector<std::string>>();
    const fs::path tokenizer_dir = options.count("tokenizer-dir")
                                       ? fs::path(options["tokenizer-dir"].as<std::string>())
                                       : artifact_dir(Artifact::tokenizer, context.base_dir);
    const fs::path out_dir = options.count("out-dir") ? fs::path(options["out-dir"].as<std::string>())
                                                      : artifact_dir(Artifact::base_data, context.base_dir);
    unsigned threads = options["threads"].as<unsigned>();
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

    const std::string plugin = options["tokenizer"].as<std::string>();
    std::shared_ptr<Tokenizer> tokenizer = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, plugin);
    if (!fs::exists(tokenizer_dir)) {
      throw Error(fmt::format("no trained tokenizer in '{}': run `nanochat run tokenizer --corpus PATH` first",
                              tokenizer_dir.string()));
    }
    tokenizer->load(tokenizer_dir);
    const TokenId bos = tokenizer->special_id(special_tokens::bos);

    TokenShardIndex index;
    index.tokenizer = plugin;
    index.tokenizer_fingerprint = tokenizer_fingerprint(*tokenizer);
    index.vocab_size = static_cast<uint32_t>(tokenizer->vocab_size());
    index.bos_id = bos;
    index.sources = sources;

    StreamOptions stream_options;
    stream_options.text_field = options["text-field"].as<std::string>();
    stream_options.max_chars = options["max-chars"].as<uint64_t>();
    stream_options.skip_bad = options["skip-bad"].as<bool>();
    DocumentStream stream(std::vector<fs::path>(sources.begin(), sources.end()), stream_options);
    ShardBuilder builder(out_dir, options["shard-tokens"].as<uint64_t>(), options["val-fraction"].as<double>(),
                         index.vocab_size, bos);

    // Only now that the flags, tokenizer and corpora have been checked: without an index the
    // folder reads as unfinished, so a failure midway never leaves the old index.json listing
    // shards this run has overwritten.
    fs::create_directories(out_dir);
    fs::remove(out_dir / TokenShardIndex::kFile);

    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    // Counted here, not read from `stream`, which the reading task is busy with.
    uint64_t encoded_bytes = 0;
    builder.on_shard = [&](const TokenShardEntry& shard) {
      log::info("{} {:>5} {:>10} tokens {:>8} documents  ({:.1f} MB of text, {:.2f} MB/s)", shard.file,
                data_split_name(shard.split), shard.tokens, shard.documents, encoded_bytes / 1e6,
                encoded_bytes / 1e6 / elapsed());
    };

    std::future<std::vector<std::string>> next = std::async(std::launch::async, read_batch, std::ref(stream));
    for (;;) {
      std::vector<std::string> batch = next.get();
      if (batch.empty()) break;
      next = std::async(std::launch::async, read_batch, std::ref(stream));
      for (const std::string& document : batch) encoded_bytes += document.size();
      builder.add(tokenizer->encode_batch(batch, /*allow_special=*/false, bos, threads));
    }
    if (stream.documents() == 0) throw Error("the corpora hold no document");
    index.shards = builder.finish();
    index.save(out_dir);
    remove_stale_shards(out_dir, index.shards);
    if (stream.skipped() != 0) log::warn("skipped {} malformed lines or unreadable files", stream.skipped());

    const double seconds = elapsed();
    std::cout << fmt::format(
        "tokenized {} documents, {:.1f} MB of text, into {} tokens in {:.2f} s: {:.2f} MB/s, {:.0f} tokens/s "
        "({} threads)\n"
        "wrote {} train shards ({} tokens) and 1 val shard ({} tokens) to {}\n",
        stream.documents(), stream.bytes() / 1e6, builder.tokens(), seconds, stream.bytes() / 1e6 / seconds,
        builder.tokens() / seconds, threads, index.shards.size() - 1, index.split_tokens(DataSplit::train),
        index.split_tokens(DataSplit::val), out_dir.string());
  }
};

}  // namespace
}  // namespace nanochat::data_stage

NANOCHAT_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::data_stage::DataStage, "data", "1.0.0",
                "tokenizes text corpora into token shards for pretraining (base_data/)")

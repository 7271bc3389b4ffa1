// `nanochat run tokenizer`: trains a tokenizer plugin on the given corpora (nanochat's
// tok_train), saves it with token_bytes into the base dir's tokenizer/ folder, then reports
// bytes/token on held-out documents of each corpus (tok_eval) in the terminal and in
// report/tokenizer.md. Torch-free: the run never loads LibTorch.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "nanochat/atomic_file.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tokenizer.hpp"
#include "tokenizer_eval.hpp"
#include "training_stream.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace nanochat::tokenizer_stage {
namespace {

// The tokenizer comes from its plugin, so another tokenizer plugin trains the same way.
std::shared_ptr<Tokenizer> make_tokenizer(const std::string& plugin) {
  return PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, plugin);
}

class TokenizerStage final : public Stage {
 public:
  void declare_options(po::options_description& options) override {
    // clang-format off
    options.add_options()
        ("corpus", po::value<std::vector<std::string>>()->composing(),
         "a .txt/.jsonl(.gz) file or a folder of them; repeat for several corpora (required)")
        ("vocab-size", po::value<uint32_t>()->default_value(65536), "vocabulary size, special tokens included")
        ("max-chars", po::value<uint64_t>()->default_value(10'000'000'000),
         "train on at most this many characters (0 = all)")
        ("doc-cap", po::value<uint64_t>()->default_value(10000),
         "keep the first N characters of each document (0 = whole documents)")
        ("threads", po::value<unsigned>()->default_value(0), "threads for training and evaluation (0 = every core)")
        ("text-field", po::value<std::string>()->default_value("text"), "the JSONL field that holds a document's text")
        ("skip-bad", po::bool_switch(), "skip malformed JSONL lines and unreadable files (counted) instead of stopping")
        ("tokenizer", po::value<std::string>()->default_value("bpe"), "the tokenizer plugin to train")
        ("eval-docs", po::value<size_t>()->default_value(100),
         "documents held out at the end of each corpus for evaluation")
        ("out-dir", po::value<std::string>(), "where to save the tokenizer (default: $NANOCHAT_BASE_DIR/tokenizer)");
    // clang-format on
  }

  void run(const po::variables_map& options, const StageContext& context) override {
    if (!options.count("corpus")) {
      throw UsageError("--corpus is required: a .txt/.jsonl(.gz) file or a folder of them");
    }
    std::vector<fs::path> corpora;
    for (const std::string& path : options["corpus"].as<std::vector<std::string>>()) corpora.emplace_back(path);

    CorpusOptions reader;
    reader.text_field = options["text-field"].as<std::string>();
    reader.doc_cap = options["doc-cap"].as<uint64_t>();
    reader.skip_bad = options["skip-bad"].as<bool>();
    const uint64_t max_chars = options["max-chars"].as<uint64_t>();
    unsigned threads = options["threads"].as<unsigned>();
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::string plugin = options["tokenizer"].as<std::string>();
    const fs::path out_dir = options.count("out-dir") ? fs::path(options["out-dir"].as<std::string>())
                                                      : artifact_dir(Artifact::tokenizer, context.base_dir);

    std::shared_ptr<Tokenizer> tokenizer = make_tokenizer(plugin);
    TrainingStream stream(corpora, reader, max_chars, options["eval-docs"].as<size_t>());

    TokenizerTrainOptions train;
    train.vocab_size = options["vocab-size"].as<uint32_t>();
    train.threads = threads;
    const auto start = std::chrono::steady_clock::now();
    tokenizer->train(stream, train);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const CorpusStats stats = stream.reader_stats();
    if (stats.documents == 0) {
      throw Error(
          fmt::format("the corpora hold no document to train on beyond the {} held out from each "
                      "(--eval-docs)",
                      options["eval-docs"].as<size_t>()));
    }
    if (stats.skipped_lines || stats.skipped_files) {
      log::warn("skipped {} malformed lines and {} unreadable files", stats.skipped_lines, stats.skipped_files);
    }

    tokenizer->save(out_dir);
    save_token_bytes(*tokenizer, out_dir);
    log::info("saved the tokenizer ({} tokens) to {}", tokenizer->vocab_size(), out_dir.string());

    const std::vector<EvalRow> rows = evaluate(*tokenizer, stream.parts(), threads);
    std::cout << fmt::format("trained {} tokens on {} documents ({:.1f} MB) in {:.2f} s\n", tokenizer->vocab_size(),
                             stats.documents, stats.bytes / 1e6, seconds)
              << format_table(rows) << std::flush;

    TrainingSummary summary;
    summary.plugin = plugin;
    summary.vocab_size = tokenizer->vocab_size();
    for (size_t id = 0; id < summary.vocab_size; ++id)
      summary.special_tokens += tokenizer->is_special(static_cast<TokenId>(id));
    summary.documents = stats.documents;
    summary.chars = stats.chars;
    summary.doc_cap = reader.doc_cap;
    summary.max_chars = max_chars;
    summary.threads = threads;
    summary.train_seconds = seconds;
    summary.saved_to = out_dir.string();
    for (const CorpusPart& part : stream.parts())
      summary.corpora.push_back({part.path, part.train_documents, part.train_chars, {}});
    const fs::path report_dir = artifact_dir(Artifact::report, context.base_dir);
    fs::create_directories(report_dir);
    atomic_write_file(report_dir / "tokenizer.md", report_markdown(summary, rows));
  }
};

}  // namespace
}  // namespace nanochat::tokenizer_stage

NANOCHAT_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::tokenizer_stage::TokenizerStage, "tokenizer", "1.0.0",
                "trains a tokenizer on text corpora and reports bytes/token on held-out documents")

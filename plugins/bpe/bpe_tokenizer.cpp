// BpeTokenizer (see bpe_tokenizer.hpp): the glue between the SDK interface and the parts.
#include "bpe_tokenizer.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "bpe_trainer.hpp"
#include "chunk_counter.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "tokenizer_files.hpp"

namespace nanochat::bpe {
namespace {

unsigned resolve_threads(unsigned threads) {
  return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

std::vector<std::string> default_special_tokens() { return {kSpecialTokens.begin(), kSpecialTokens.end()}; }

}  // namespace

BpeTokenizer::BpeTokenizer(std::string pattern, std::vector<std::string> tokens,
                           std::vector<std::string> special_tokens)
    : pattern_(std::move(pattern)),
      splitter_(make_splitter(pattern_)),
      encoder_(std::make_unique<BpeEncoder>(std::move(tokens))),
      special_tokens_(std::move(special_tokens)) {}

void BpeTokenizer::train(DocumentSource& documents, const TokenizerTrainOptions& options) {
  const uint32_t reserved = 256 + static_cast<uint32_t>(kSpecialTokens.size());
  if (options.vocab_size < reserved) {
    throw UsageError(fmt::format("vocab size {} is too small: the 256 byte tokens and {} special tokens need {}",
                                 options.vocab_size, kSpecialTokens.size(), reserved));
  }
  const std::string pattern = options.pattern.empty() ? kSplitPattern : options.pattern;
  std::unique_ptr<Splitter> splitter = make_splitter(pattern);
  const unsigned threads = resolve_threads(options.threads);

  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<ChunkCounts> counts = count_chunks(documents, *splitter, threads);
  const auto counted = std::chrono::steady_clock::now();
  log::info("bpe: {} documents, {:.1f} MB, {} distinct chunks, counted on {} threads in {:.2f} s", counts->documents,
            counts->bytes / 1e6, counts->size(), threads, std::chrono::duration<double>(counted - start).count());

  const uint32_t num_merges = options.vocab_size - reserved;
  const std::vector<Merge> merges = learn_merges(*counts, num_merges);
  const auto merged = std::chrono::steady_clock::now();
  log::info("bpe: {} merges in {:.2f} s", merges.size(), std::chrono::duration<double>(merged - counted).count());
  if (merges.size() < num_merges) {
    log::warn("bpe: the text ran out of pairs after {} of {} merges; the vocabulary has {} tokens, not {}",
              merges.size(), num_merges, reserved + merges.size(), options.vocab_size);
  }

  std::vector<std::string> tokens;
  tokens.reserve(256 + merges.size());
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  for (const Merge& merge : merges) tokens.push_back(tokens[merge.first] + tokens[merge.second]);
  *this = BpeTokenizer(pattern, std::move(tokens), default_special_tokens());
}

void BpeTokenizer::save(const std::filesystem::path& dir) const {
  require_ready();
  BpeFiles files;
  files.pattern = pattern_;
  files.tokens.reserve(encoder_->size());
  for (uint32_t id = 0; id < encoder_->size(); ++id) files.tokens.push_back(encoder_->bytes(id));
  files.special_tokens = special_tokens_;
  save_bpe_files(dir, files);
}

void BpeTokenizer::load(const std::filesystem::path& dir) {
  BpeFiles files = load_bpe_files(dir);
  try {
    *this = BpeTokenizer(std::move(files.pattern), std::move(files.tokens), std::move(files.special_tokens));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: damaged tokenizer: {}", (dir / kRanksFile).string(), e.what()));
  }
}

void BpeTokenizer::require_ready() const {
  if (!encoder_) throw Error("the bpe tokenizer has no vocabulary yet: train() or load() it first");
}

void BpeTokenizer::encode_ordinary(std::string_view text, std::vector<size_t>& chunk_ends,
                                   std::vector<TokenId>& out) const {
  splitter_->split(text, chunk_ends);
  BpeEncoder::Cache& cache = encoder_->thread_cache();
  size_t start = 0;
  for (size_t end : chunk_ends) {
    encoder_->encode_chunk(text.substr(start, end - start), cache, out);
    start = end;
  }
}

void BpeTokenizer::encode_into(std::string_view text, bool allow_special, std::vector<size_t>& chunk_ends,
                               std::vector<TokenId>& out) const {
  if (!allow_special) {
    encode_ordinary(text, chunk_ends, out);
    return;
  }
  // As tiktoken: the text between special tokens is split and encoded on its own.
  size_t done = 0;
  for (size_t pos = text.find("<|"); pos != std::string_view::npos; pos = text.find("<|", pos + 1)) {
    for (size_t i = 0; i < special_tokens_.size(); ++i) {
      const std::string& name = special_tokens_[i];
      if (text.compare(pos, name.size(), name) != 0) continue;
      encode_ordinary(text.substr(done, pos - done), chunk_ends, out);
      out.push_back(static_cast<TokenId>(encoder_->size() + i));
      done = pos + name.size();
      pos = done - 1;
      break;
    }
  }
  encode_ordinary(text.substr(done), chunk_ends, out);
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool allow_special) const {
  require_ready();
  std::vector<TokenId> out;
  out.reserve(text.size() / 4 + 1);
  std::vector<size_t> chunk_ends;
  encode_into(text, allow_special, chunk_ends, out);
  return out;
}

std::vector<std::vector<TokenId>> BpeTokenizer::encode_batch(const std::vector<std::string>& texts, bool allow_special,
                                                             std::optional<TokenId> prepend, unsigned threads) const {
  require_ready();
  std::vector<std::vector<TokenId>> results(texts.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::vector<size_t> chunk_ends;
    for (size_t i = next++; i < texts.size(); i = next++) {
      std::vector<TokenId>& out = results[i];
      out.reserve(texts[i].size() / 4 + 2);
      if (prepend) out.push_back(*prepend);
      encode_into(texts[i], allow_special, chunk_ends, out);
    }
  };
  const size_t workers = std::min<size_t>(resolve_threads(threads), texts.size());
  if (workers <= 1) {
    work();
    return results;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(workers);
  for (size_t t = 0; t < workers; ++t) {
    pool.emplace_back([&, t] {
      try {
        work();
      } catch (...) {
        errors[t] = std::current_exception();
        next = texts.size();
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return results;
}

std::string BpeTokenizer::decode(const std::vector<TokenId>& ids) const {
  require_ready();
  std::string text;
  for (TokenId id : ids) {
    if (id >= 0 && static_cast<size_t>(id) < encoder_->size()) {
      text += encoder_->bytes(static_cast<uint32_t>(id));
    } else if (is_special(id)) {
      text += special_tokens_[static_cast<size_t>(id) - encoder_->size()];
    } else {
      throw Error(fmt::format("cannot decode token id {}: the vocabulary has ids 0..{}", id, vocab_size() - 1));
    }
  }
  return text;
}

size_t BpeTokenizer::vocab_size() const {
  require_ready();
  return encoder_->size() + special_tokens_.size();
}

std::string BpeTokenizer::token_bytes(TokenId id) const { return decode({id}); }

bool BpeTokenizer::is_special(TokenId id) const {
  require_ready();
  return id >= 0 && static_cast<size_t>(id) >= encoder_->size() && static_cast<size_t>(id) < vocab_size();
}

std::optional<TokenId> BpeTokenizer::find_token(std::string_view bytes) const {
  require_ready();
  for (size_t i = 0; i < special_tokens_.size(); ++i) {
    if (special_tokens_[i] == bytes) return static_cast<TokenId>(encoder_->size() + i);
  }
  if (auto id = encoder_->find(bytes)) return static_cast<TokenId>(*id);
  return std::nullopt;
}

TokenId BpeTokenizer::special_id(std::string_view name) const {
  require_ready();
  for (size_t i = 0; i < special_tokens_.size(); ++i) {
    if (special_tokens_[i] == name) return static_cast<TokenId>(encoder_->size() + i);
  }
  throw Error(fmt::format("this tokenizer has no special token '{}'", name));
}

}  // namespace nanochat::bpe

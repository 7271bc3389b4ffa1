// The byte-level BPE tokenizer behind nanochat's Tokenizer interface: training as rustbpe
// (chunk_counter + bpe_trainer), encoding as tiktoken (splitter + bpe_encoder), nanochat's
// special tokens after the ordinary ones, and the folder format of tokenizer_files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bpe_encoder.hpp"
#include "nanochat/tokenizer.hpp"
#include "splitter.hpp"

namespace nanochat::bpe {

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer() = default;
  // A tokenizer from its parts (what training or load() produce).
  BpeTokenizer(std::string pattern, std::vector<std::string> tokens, std::vector<std::string> special_tokens);

  void train(DocumentSource& documents, const TokenizerTrainOptions& options) override;
  void save(const std::filesystem::path& dir) const override;
  void load(const std::filesystem::path& dir) override;

  std::vector<TokenId> encode(std::string_view text, bool allow_special) const override;
  std::vector<std::vector<TokenId>> encode_batch(const std::vector<std::string>& texts, bool allow_special,
                                                 std::optional<TokenId> prepend, unsigned threads) const override;
  std::string decode(const std::vector<TokenId>& ids) const override;

  size_t vocab_size() const override;
  std::string pattern() const override { return pattern_; }
  std::string token_bytes(TokenId id) const override;
  bool is_special(TokenId id) const override;
  std::optional<TokenId> find_token(std::string_view bytes) const override;
  TokenId special_id(std::string_view name) const override;

 private:
  void require_ready() const;
  void encode_into(std::string_view text, bool allow_special, std::vector<size_t>& chunk_ends,
                   std::vector<TokenId>& out) const;
  void encode_ordinary(std::string_view text, std::vector<size_t>& chunk_ends, std::vector<TokenId>& out) const;

  std::string pattern_;
  std::unique_ptr<Splitter> splitter_;
  std::unique_ptr<BpeEncoder> encoder_;
  std::vector<std::string> special_tokens_;
};

}  // namespace nanochat::bpe

// The tokenizer interface (plugin kind `tokenizer`, e.g. the byte-level BPE plugin "bpe"):
// train from documents, encode and decode, special tokens, save and load a folder.
// Torch-free. The special tokens and their order are nanochat's (SPEC §2): their ids come
// right after the ordinary tokens, BOS is prepended to every document, there is no EOS.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nanochat/corpus.hpp"

namespace nanochat {

using TokenId = int32_t;

namespace special_tokens {
inline constexpr const char* bos = "<|bos|>";
inline constexpr const char* user_start = "<|user_start|>";
inline constexpr const char* user_end = "<|user_end|>";
inline constexpr const char* assistant_start = "<|assistant_start|>";
inline constexpr const char* assistant_end = "<|assistant_end|>";
inline constexpr const char* python_start = "<|python_start|>";
inline constexpr const char* python_end = "<|python_end|>";
inline constexpr const char* output_start = "<|output_start|>";
inline constexpr const char* output_end = "<|output_end|>";
}  // namespace special_tokens

// In id order: the i-th special token has id (number of ordinary tokens) + i.
inline constexpr std::array<const char*, 9> kSpecialTokens = {
    special_tokens::bos,           special_tokens::user_start,
    special_tokens::user_end,      special_tokens::assistant_start,
    special_tokens::assistant_end, special_tokens::python_start,
    special_tokens::python_end,    special_tokens::output_start,
    special_tokens::output_end,
};

struct TokenizerTrainOptions {
  // The whole vocabulary, special tokens included (nanochat: 65,536). Training learns
  // vocab_size - 256 - kSpecialTokens.size() merges, or fewer when the text runs out of pairs.
  uint32_t vocab_size = 65536;
  unsigned threads = 0;  // 0 = every core
  std::string pattern;   // the split regex; "" = SPEC §2's pattern
};

class Tokenizer {
 public:
  static constexpr const char* kInterfaceId = "nanochat.tokenizer/1";

  virtual ~Tokenizer() = default;

  // Learns the vocabulary from `documents`, replacing any loaded one. Deterministic: the
  // same documents and options give the same tokenizer for any thread count.
  virtual void train(DocumentSource& documents, const TokenizerTrainOptions& options) = 0;

  // Writes the tokenizer into `dir` (created if missing), replacing its files atomically.
  virtual void save(const std::filesystem::path& dir) const = 0;
  // Reads a folder written by save(); throws Error naming the file and the defect when it
  // is missing or damaged.
  virtual void load(const std::filesystem::path& dir) = 0;

  // Text (UTF-8) to ids. Without allow_special, text that spells a special token is plain
  // text (as nanochat's encode_ordinary); with it, such text becomes the special token.
  virtual std::vector<TokenId> encode(std::string_view text, bool allow_special = false) const = 0;

  // encode() of each text, on `threads` threads (0 = every core), each result optionally
  // starting with `prepend` (e.g. BOS). The result is the same for any thread count.
  virtual std::vector<std::vector<TokenId>> encode_batch(const std::vector<std::string>& texts,
                                                         bool allow_special = false,
                                                         std::optional<TokenId> prepend = std::nullopt,
                                                         unsigned threads = 0) const = 0;

  // Ids to bytes (which need not be valid UTF-8 when the ids cut a character). Throws Error
  // on an id outside the vocabulary.
  virtual std::string decode(const std::vector<TokenId>& ids) const = 0;

  virtual size_t vocab_size() const = 0;  // ordinary + special tokens
  virtual std::string pattern() const = 0;

  // The bytes of a token: raw bytes for an ordinary token, the name for a special one.
  virtual std::string token_bytes(TokenId id) const = 0;
  virtual bool is_special(TokenId id) const = 0;
  // The id of the token with exactly these bytes (ordinary or special), if any.
  virtual std::optional<TokenId> find_token(std::string_view bytes) const = 0;
  // The id of a special token by name; throws Error when the tokenizer has no such token.
  virtual TokenId special_id(std::string_view name) const = 0;
};

// Each token's length in raw bytes, 0 for special tokens: bits per byte divides a loss in
// nats per token by these (SPEC §2 token_bytes; raw bytes, not decode()).
std::vector<int32_t> token_byte_lengths(const Tokenizer& tokenizer);

// token_bytes.safetensors in a tokenizer folder: one int32 tensor "token_bytes" of shape
// [vocab_size] holding token_byte_lengths().
inline constexpr const char* kTokenBytesFile = "token_bytes.safetensors";
void save_token_bytes(const Tokenizer& tokenizer, const std::filesystem::path& dir);
std::vector<int32_t> load_token_bytes(const std::filesystem::path& dir);

}  // namespace nanochat

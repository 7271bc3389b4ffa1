// The on-disk form of a BPE tokenizer (documented in plugins/bpe/README.md): a folder with
//   tokenizer.tiktoken  one line per ordinary token, "<base64 of its bytes> <rank>", in rank
//                       order: tiktoken's own format, so other tools load it as is;
//   tokenizer.json      format name and version, the split pattern, the special tokens with
//                       their ids, and the count and CRC-32 of tokenizer.tiktoken.
// Loading checks everything and names the file, line and defect of a damaged folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nanochat::bpe {

inline constexpr const char* kRanksFile = "tokenizer.tiktoken";
inline constexpr const char* kMetaFile = "tokenizer.json";
inline constexpr const char* kFormatName = "nanochat-bpe";
inline constexpr int kFormatVersion = 1;

struct BpeFiles {
  std::string pattern;
  std::vector<std::string> tokens;          // bytes of token i = rank i
  std::vector<std::string> special_tokens;  // special token i has id tokens.size() + i
};

// Writes both files, each atomically; tokenizer.json last, so a crash in between leaves a
// CRC mismatch that load refuses rather than a silently mixed tokenizer.
void save_bpe_files(const std::filesystem::path& dir, const BpeFiles& files);
BpeFiles load_bpe_files(const std::filesystem::path& dir);

// Strict base64 (RFC 4648, with padding), as tiktoken writes it.
std::string base64_encode(std::string_view bytes);
// False when `text` is not strict base64.
bool base64_decode(std::string_view text, std::string& bytes);

}  // namespace nanochat::bpe

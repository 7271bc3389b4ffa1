// Saving and loading the BPE tokenizer folder (see tokenizer_files.hpp).
#include "tokenizer_files.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace nanochat::bpe {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large inputs in pieces.
  for (size_t pos = 0; pos < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - pos, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos), static_cast<uInt>(n));
    pos += n;
  }
  return static_cast<uint32_t>(crc);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("{}: cannot open ({}); is this a folder written by `nanochat run tokenizer`?",
                            path.string(), std::error_code(errno, std::generic_category()).message()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

[[noreturn]] void damaged(const fs::path& path, const std::string& what) {
  throw Error(
      fmt::format("{}: damaged tokenizer file: {}; train it again with `nanochat run tokenizer`", path.string(), what));
}

std::vector<std::string> parse_ranks(const fs::path& path, std::string_view text, size_t expected) {
  std::vector<std::string> tokens;
  tokens.reserve(expected);
  size_t line_number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) damaged(path, fmt::format("line {} has no line end", line_number + 1));
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) damaged(path, fmt::format("line {} is not '<base64> <rank>'", line_number));
    std::string bytes;
    if (!base64_decode(line.substr(0, space), bytes) || bytes.empty()) {
      damaged(path, fmt::format("line {}: invalid base64 token", line_number));
    }
    const std::string_view rank_text = line.substr(space + 1);
    uint64_t rank = 0;
    const auto [rest, ec] = std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (ec != std::errc() || rest != rank_text.data() + rank_text.size()) {
      damaged(path, fmt::format("line {}: rank '{}' is not a number", line_number, rank_text));
    }
    if (rank != tokens.size()) {
      damaged(path, fmt::format("line {}: rank {} where {} was expected (ranks go 0, 1, 2, ...)", line_number, rank,
                                tokens.size()));
    }
    tokens.push_back(std::move(bytes));
  }
  return tokens;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v =
        (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& bytes) {
  bytes.clear();
  if (text.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (padding == 1 && text[i + 2] == '=') return false;  // "x=y=" style
    uint32_t v = 0;
    for (int k = 0; k < 4 - padding; ++k) {
      const int d = value(text[i + k]);
      if (d < 0) return false;
      v |= uint32_t(d) << (18 - 6 * k);
    }
    bytes += static_cast<char>(v >> 16);
    if (padding < 2) bytes += static_cast<char>((v >> 8) & 0xFF);
    if (padding < 1) bytes += static_cast<char>(v & 0xFF);
    // Non-canonical encodings (stray bits below the padding) are damage, not data.
    if ((padding == 1 && (v & 0xFF)) || (padding == 2 && (v & 0xFFFF))) return false;
  }
  return true;
}

void save_bpe_files(const fs::path& dir, const BpeFiles& files) {
  fs::create_directories(dir);
  std::string ranks;
  for (size_t rank = 0; rank < files.tokens.size(); ++rank) {
    ranks += base64_encode(files.tokens[rank]);
    ranks += ' ';
    ranks += std::to_string(rank);
    ranks += '\n';
  }
  Json specials = Json::object();
  for (size_t i = 0; i < files.special_tokens.size(); ++i) specials[files.special_tokens[i]] = files.tokens.size() + i;
  Json meta = {
      {"format", kFormatName},
      {"version", kFormatVersion},
      {"pattern", files.pattern},
      {"ranks_file", kRanksFile},
      {"ranks_count", files.tokens.size()},
      {"ranks_crc32", fmt::format("{:08x}", crc32_of(ranks))},
      {"special_tokens", specials},
  };
  atomic_write_file(dir / kRanksFile, ranks);
  atomic_write_file(dir / kMetaFile, meta.dump(2) + "\n");
}

BpeFiles load_bpe_files(const fs::path& dir) {
  const fs::path meta_path = dir / kMetaFile;
  const fs::path ranks_path = dir / kRanksFile;
  Json meta;
  try {
    meta = Json::parse(read_file(meta_path));
  } catch (const Json::exception& e) {
    damaged(meta_path, std::string("not valid JSON (") + e.what() + ")");
  }
  BpeFiles files;
  size_t count = 0;
  std::string crc;
  try {
    if (meta.at("format").get<std::string>() != kFormatName) {
      damaged(meta_path, fmt::format("format is '{}', not '{}'", meta.at("format").get<std::string>(), kFormatName));
    }
    const int version = meta.at("version").get<int>();
    if (version != kFormatVersion) {
      throw Error(fmt::format("{}: format version {} is not supported (this plugin reads version {})",
                              meta_path.string(), version, kFormatVersion));
    }
    files.pattern = meta.at("pattern").get<std::string>();
    count = meta.at("ranks_count").get<size_t>();
    crc = meta.at("ranks_crc32").get<std::string>();
    // By id, not by key order: JSON objects are unordered, and tools may rewrite them.
    std::vector<std::pair<size_t, std::string>> specials;
    for (const auto& [name, id] : meta.at("special_tokens").items()) specials.emplace_back(id.get<size_t>(), name);
    std::sort(specials.begin(), specials.end());
    for (size_t i = 0; i < specials.size(); ++i) {
      if (specials[i].first != count + i) {
        damaged(meta_path, fmt::format("special token {} has id {}, expected {} (special tokens follow the {} "
                                       "ordinary ones)",
                                       specials[i].second, specials[i].first, count + i, count));
      }
      files.special_tokens.push_back(specials[i].second);
    }
  } catch (const Json::exception& e) {
    damaged(meta_path, std::string("missing or mistyped field (") + e.what() + ")");
  }
  const std::string ranks = read_file(ranks_path);
  if (fmt::format("{:08x}", crc32_of(ranks)) != crc) {
    damaged(ranks_path, fmt::format("its CRC-32 is not the {} that {} records", crc, kMetaFile));
  }
  files.tokens = parse_ranks(ranks_path, ranks, count);
  if (files.tokens.size() != count) {
    damaged(ranks_path, fmt::format("{} tokens where {} records {}", files.tokens.size(), kMetaFile, count));
  }
  return files;
}

}  // namespace nanochat::bpe

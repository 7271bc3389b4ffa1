// Token shards: the shard writer and the mmap reader (format in token_shard.hpp), the
// index.json of a shard folder, and the tokenizer fingerprint that ties shards to a tokenizer.
#include "nanochat/token_shard.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are read in place: little-endian hosts only");

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace nanochat {
namespace {

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Header field offsets (token_shard.hpp).
constexpr size_t kOffVersion = 8, kOffWidth = 12, kOffTokens = 16, kOffDocuments = 24, kOffPayloadHash = 32,
                 kOffVocab = 40, kOffReserved = 44, kOffHeaderHash = 56;

void store32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void store64(unsigned char* p, uint64_t v) { std::memcpy(p, &v, 8); }

std::string shard_hint(const fs::path& path) {
  return fmt::format("token shard '{}'", path.string());
}

}  // namespace

uint32_t token_width_for_vocab(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

// ---------------------------------------------------------------------------------------------
// Writing

TokenShardHeader write_token_shard(const fs::path& path, const TokenId* tokens, size_t count, uint64_t documents,
                                   uint32_t vocab_size) {
  if (vocab_size == 0) throw Error(fmt::format("cannot write {}: vocab size is 0", shard_hint(path)));
  TokenShardHeader header;
  header.token_width = token_width_for_vocab(vocab_size);
  header.tokens = count;
  header.documents = documents;
  header.vocab_size = vocab_size;

  std::vector<unsigned char> payload(count * header.token_width);
  for (size_t i = 0; i < count; ++i) {
    TokenId id = tokens[i];
    if (id < 0 || static_cast<uint64_t>(id) >= vocab_size) {
      throw Error(fmt::format("cannot write {}: token {} at position {} is outside the vocabulary of {}",
                              shard_hint(path), id, i, vocab_size));
    }
    if (header.token_width == 2) {
      auto narrow = static_cast<uint16_t>(id);
      std::memcpy(&payload[i * 2], &narrow, 2);
    } else {
      std::memcpy(&payload[i * 4], &id, 4);
    }
  }
  header.payload_checksum = xxh64(payload.data(), payload.size());

  unsigned char raw[kTokenShardHeaderSize] = {};
  std::memcpy(raw, kTokenShardMagic.data(), kTokenShardMagic.size());
  store32(raw + kOffVersion, kTokenShardVersion);
  store32(raw + kOffWidth, header.token_width);
  store64(raw + kOffTokens, header.tokens);
  store64(raw + kOffDocuments, header.documents);
  store64(raw + kOffPayloadHash, header.payload_checksum);
  store32(raw + kOffVocab, header.vocab_size);
  store64(raw + kOffHeaderHash, xxh64(raw, kOffHeaderHash));

  AtomicFileWriter writer(path);
  writer.write(raw, sizeof raw);
  writer.write(payload.data(), payload.size());
  writer.commit();
  return header;
}

// ---------------------------------------------------------------------------------------------
// Reading

TokenShard::TokenShard(const fs::path& path, bool verify) : path_(path) {
  auto fail = [&](const std::string& defect) -> Error {
    return Error(fmt::format("{} is unusable: {}; remake the shards with `nanochat run data`", shard_hint(path),
                             defect));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("cannot open {}: {}", shard_hint(path), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(fmt::format("cannot stat {}: {}", shard_hint(path), std::strerror(err)));
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kTokenShardHeaderSize) {
    ::close(fd);
    throw fail(fmt::format("truncated: {} bytes, shorter than the {}-byte header", file_size, kTokenShardHeaderSize));
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_err = errno;
  ::close(fd);
  if (map == MAP_FAILED) throw Error(fmt::format("cannot map {}: {}", shard_hint(path), std::strerror(map_err)));
  map_ = static_cast<const unsigned char*>(map);
  map_size_ = file_size;

  try {
    if (std::memcmp(map_, kTokenShardMagic.data(), kTokenShardMagic.size()) != 0) {
      throw fail("not a token shard (bad magic)");
    }
    uint32_t version = load32(map_ + kOffVersion);
    if (version != kTokenShardVersion) {
      throw fail(fmt::format("format version {}, this build reads version {}", version, kTokenShardVersion));
    }
    if (load64(map_ + kOffHeaderHash) != xxh64(map_, kOffHeaderHash)) throw fail("header checksum mismatch");
    header_.token_width = load32(map_ + kOffWidth);
    header_.tokens = load64(map_ + kOffTokens);
    header_.documents = load64(map_ + kOffDocuments);
    header_.payload_checksum = load64(map_ + kOffPayloadHash);
    header_.vocab_size = load32(map_ + kOffVocab);
    if (header_.token_width != 2 && header_.token_width != 4) {
      throw fail(fmt::format("token width {} (expected 2 or 4)", header_.token_width));
    }
    if (header_.vocab_size == 0 || header_.token_width != token_width_for_vocab(header_.vocab_size)) {
      throw fail(fmt::format("vocab size {} does not match token width {}", header_.vocab_size,
                             header_.token_width));
    }
    for (size_t i = kOffReserved; i < kOffHeaderHash; ++i) {
      if (map_[i] != 0) throw fail("reserved header bytes are not zero");
    }
    const uint64_t payload_size = file_size - kTokenShardHeaderSize;
    // Divide rather than multiply: a corrupt count must not overflow into a plausible size.
    const bool short_payload = header_.tokens > payload_size / header_.token_width;
    if (short_payload || payload_size != header_.tokens * header_.token_width) {
      throw fail(fmt::format("{} bytes of tokens, the header says {} tokens of {} bytes ({})", payload_size,
                             header_.tokens, header_.token_width, short_payload ? "truncated" : "trailing bytes"));
    }
    if (header_.documents > header_.tokens) {
      throw fail(fmt::format("{} documents in {} tokens", header_.documents, header_.tokens));
    }
    if (verify) {
      const unsigned char* payload = map_ + kTokenShardHeaderSize;
      if (xxh64(payload, payload_size) != header_.payload_checksum) throw fail("payload checksum mismatch (corrupt)");
      // A token past the vocabulary would index outside the embedding table.
      if (header_.token_width == 2 && header_.vocab_size < 65536) {
        for (uint64_t i = 0; i < header_.tokens; ++i) {
          uint16_t id;
          std::memcpy(&id, payload + 2 * i, 2);
          if (id >= header_.vocab_size) throw fail(fmt::format("token {} at position {} is outside the vocabulary", id, i));
        }
      } else if (header_.token_width == 4) {
        for (uint64_t i = 0; i < header_.tokens; ++i) {
          uint32_t id = load32(payload + 4 * i);
          if (id >= header_.vocab_size) throw fail(fmt::format("token {} at position {} is outside the vocabulary", id, i));
        }
      }
    }
  } catch (...) {
    ::munmap(const_cast<unsigned char*>(map_), map_size_);
    throw;
  }
}

TokenShard::~TokenShard() {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

TokenShard::TokenShard(TokenShard&& other) noexcept
    : path_(std::move(other.path_)),
      header_(other.header_),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)) {}

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
    path_ = std::move(other.path_);
    header_ = other.header_;
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
  }
  return *this;
}

void TokenShard::check_range(uint64_t begin, uint64_t count) const {
  if (begin > header_.tokens || count > header_.tokens - begin) {
    throw Error(fmt::format("{}: tokens [{}, {}) requested, it has {}", shard_hint(path_), begin, begin + count,
                            header_.tokens));
  }
}

TokenId TokenShard::at(uint64_t index) const {
  check_range(index, 1);
  const unsigned char* p = map_ + kTokenShardHeaderSize + index * header_.token_width;
  if (header_.token_width == 2) {
    uint16_t id;
    std::memcpy(&id, p, 2);
    return id;
  }
  return static_cast<TokenId>(load32(p));
}

void TokenShard::read(uint64_t begin, uint64_t count, int64_t* out) const {
  check_range(begin, count);
  const unsigned char* p = map_ + kTokenShardHeaderSize + begin * header_.token_width;
  if (header_.token_width == 2) {
    for (uint64_t i = 0; i < count; ++i) {
      uint16_t id;
      std::memcpy(&id, p + 2 * i, 2);
      out[i] = id;
    }
  } else {
    for (uint64_t i = 0; i < count; ++i) out[i] = load32(p + 4 * i);
  }
}

std::vector<TokenId> TokenShard::read(uint64_t begin, uint64_t count) const {
  std::vector<int64_t> wide(count);
  read(begin, count, wide.data());
  return std::vector<TokenId>(wide.begin(), wide.end());
}

// ---------------------------------------------------------------------------------------------
// index.json

const char* data_split_name(DataSplit split) { return split == DataSplit::train ? "train" : "val"; }

std::vector<TokenShardEntry> TokenShardIndex::split(DataSplit which) const {
  std::vector<TokenShardEntry> out;
  std::copy_if(shards.begin(), shards.end(), std::back_inserter(out),
               [&](const TokenShardEntry& entry) { return entry.split == which; });
  return out;
}

uint64_t TokenShardIndex::split_tokens(DataSplit which) const {
  uint64_t total = 0;
  for (const auto& entry : shards) total += entry.split == which ? entry.tokens : 0;
  return total;
}

void TokenShardIndex::save(const fs::path& dir) const {
  Json json;
  json["format"] = "nanochat-token-shards";
  json["version"] = kTokenShardVersion;
  json["tokenizer"] = {{"name", tokenizer},
                       {"fingerprint", hex64(tokenizer_fingerprint)},
                       {"vocab_size", vocab_size},
                       {"bos_id", bos_id}};
  json["sources"] = sources;
  json["train_tokens"] = split_tokens(DataSplit::train);
  json["val_tokens"] = split_tokens(DataSplit::val);
  Json list = Json::array();
  for (const auto& entry : shards) {
    list.push_back({{"file", entry.file},
                    {"split", data_split_name(entry.split)},
                    {"tokens", entry.tokens},
                    {"documents", entry.documents},
                    {"checksum", hex64(entry.checksum)}});
  }
  json["shards"] = std::move(list);
  atomic_write_file(dir / kFile, json.dump(2) + "\n");
}

TokenShardIndex TokenShardIndex::load(const fs::path& dir) {
  const fs::path file = dir / kFile;
  auto fail = [&](const std::string& defect) -> Error {
    return Error(fmt::format("token shard index '{}' {}; make the shards with `nanochat run data --corpus PATH`",
                             file.string(), defect));
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) throw fail("is missing");
  std::stringstream text;
  text << in.rdbuf();

  auto parse_hex = [&](const std::string& hex, const char* what) {
    if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw fail(fmt::format("has a malformed {} '{}'", what, hex));
    }
    return std::stoull(hex, nullptr, 16);
  };

  TokenShardIndex index;
  try {
    Json json = Json::parse(text.str());
    if (json.at("format").get<std::string>() != "nanochat-token-shards") throw fail("is not a token shard index");
    if (json.at("version").get<uint32_t>() != kTokenShardVersion) {
      throw fail(fmt::format("has version {}, this build reads {}", json.at("version").dump(), kTokenShardVersion));
    }
    const Json& tok = json.at("tokenizer");
    index.tokenizer = tok.at("name").get<std::string>();
    index.tokenizer_fingerprint = parse_hex(tok.at("fingerprint").get<std::string>(), "tokenizer fingerprint");
    index.vocab_size = tok.at("vocab_size").get<uint32_t>();
    index.bos_id = tok.at("bos_id").get<TokenId>();
    index.sources = json.at("sources").get<std::vector<std::string>>();
    for (const Json& item : json.at("shards")) {
      TokenShardEntry entry;
      entry.file = item.at("file").get<std::string>();
      if (entry.file.empty() || entry.file.find('/') != std::string::npos || entry.file[0] == '.') {
        throw fail(fmt::format("names a shard '{}' outside its folder", entry.file));
      }
      const std::string split = item.at("split").get<std::string>();
      if (split != "train" && split != "val") throw fail(fmt::format("has an unknown split '{}'", split));
      entry.split = split == "train" ? DataSplit::train : DataSplit::val;
      entry.tokens = item.at("tokens").get<uint64_t>();
      entry.documents = item.at("documents").get<uint64_t>();
      entry.checksum = parse_hex(item.at("checksum").get<std::string>(), "shard checksum");
      index.shards.push_back(std::move(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("is malformed ({})", e.what()));
  }
  if (index.split(DataSplit::train).empty()) throw fail("lists no train shard");
  if (index.split(DataSplit::val).empty()) throw fail("lists no val shard");
  return index;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer fingerprint

uint64_t tokenizer_fingerprint(const Tokenizer& tokenizer) {
  // Length-prefixed fields, so no two different tokenizers serialize to the same bytes.
  std::string bytes;
  auto append = [&](std::string_view field) {
    uint64_t size = field.size();
    bytes.append(reinterpret_cast<const char*>(&size), sizeof size);
    bytes.append(field);
  };
  append(tokenizer.pattern());
  const auto vocab = static_cast<TokenId>(tokenizer.vocab_size());
  for (TokenId id = 0; id < vocab; ++id) {
    bytes.push_back(tokenizer.is_special(id) ? 'S' : 'O');
    append(tokenizer.token_bytes(id));
  }
  return xxh64(bytes.data(), bytes.size());
}

}  // namespace nanochat

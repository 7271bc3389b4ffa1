// token_bytes: each token's raw byte length (0 for special tokens), saved beside the
// tokenizer so bits-per-byte evaluation needs no tokenizer at all, only this tensor.
#include <cstring>

#include <fmt/format.h>

#include "nanochat/error.hpp"
#include "nanochat/safetensors.hpp"
#include "nanochat/tokenizer.hpp"

namespace fs = std::filesystem;

namespace nanochat {

namespace {
constexpr const char* kTensorName = "token_bytes";
}

std::vector<int32_t> token_byte_lengths(const Tokenizer& tokenizer) {
  std::vector<int32_t> lengths(tokenizer.vocab_size());
  for (size_t id = 0; id < lengths.size(); ++id) {
    const auto token = static_cast<TokenId>(id);
    lengths[id] = tokenizer.is_special(token) ? 0 : static_cast<int32_t>(tokenizer.token_bytes(token).size());
  }
  return lengths;
}

void save_token_bytes(const Tokenizer& tokenizer, const fs::path& dir) {
  const std::vector<int32_t> lengths = token_byte_lengths(tokenizer);
  SafetensorsWriter writer;
  writer.add(kTensorName, DType::I32, {static_cast<int64_t>(lengths.size())}, lengths.data(),
             lengths.size() * sizeof(int32_t));
  writer.write(dir / kTokenBytesFile);
}

std::vector<int32_t> load_token_bytes(const fs::path& dir) {
  const SafetensorsReader reader(dir / kTokenBytesFile);
  const TensorInfo& info = reader.info(kTensorName);
  if (info.dtype != DType::I32 || info.shape.size() != 1) {
    throw Error(fmt::format("{}: tensor '{}' should be I32 of one dimension", reader.path().string(), kTensorName));
  }
  std::vector<int32_t> lengths(static_cast<size_t>(info.shape[0]));
  std::memcpy(lengths.data(), reader.data(info), lengths.size() * sizeof(int32_t));
  return lengths;
}

}  // namespace nanochat

// The safetensors format (weights and optimizer state): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {..}}, then
// the raw little-endian tensor bytes. Torch-free: tensors are typed byte spans here;
// the tensor library converts them to and from torch::Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nanochat {

enum class DType { BF16, F16, F32, F64, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);           // "BF16", "F32", ...
DType dtype_from_name(const std::string& name);  // throws Error on an unknown name

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t nbytes = 0;
};

// Collects tensors (by pointer: the caller keeps the bytes alive until write()) and
// writes them in one atomic file.
class SafetensorsWriter {
 public:
  void add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
           const void* data, size_t nbytes);
  void set_metadata(const std::string& key, const std::string& value);
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    TensorInfo info;
    const void* data;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Opens and validates a file (header bounds, JSON, dtypes, shapes against byte ranges,
// ranges inside the data section). Any defect throws Error naming the file and the problem.
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::filesystem::path& path);
  ~SafetensorsReader();
  SafetensorsReader(SafetensorsReader&&) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&&) noexcept;

  const std::filesystem::path& path() const;
  const std::vector<TensorInfo>& tensors() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws Error if absent
  const uint8_t* data(const TensorInfo& info) const;
  const std::map<std::string, std::string>& metadata() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanochat

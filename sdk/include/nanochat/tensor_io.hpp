// Named tensors to and from safetensors files: weights, optimizer state, anything a
// checkpoint holds. Saving moves tensors to the CPU; loading either reads a whole file
// onto a device or fills existing tensors (a model's parameters), checking every name,
// shape and dtype first so a wrong or damaged file never half-loads.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace nanochat {

// Ordered, because file order and parameter order are worth keeping stable.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using TensorMetadata = std::map<std::string, std::string>;

// Writes atomically (temp file, fsync, rename). Supported dtypes: f32, f64, bf16, f16,
// i64, i32, i16, i8, u8, bool. Throws Error on another dtype or a duplicate name.
void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors,
                  const TensorMetadata& metadata = {});

struct LoadedTensors {
  NamedTensors tensors;  // in file order, each a fresh copy on the requested device
  TensorMetadata metadata;
};

// Reads every tensor of a file onto `device`. Throws Error naming the file when it is
// missing, truncated or corrupt.
LoadedTensors load_tensors(const std::filesystem::path& path, c10::Device device);

// Copies a file's tensors into `targets` by name. The file must hold exactly these names
// (a leading "_orig_mod.", which torch.compile adds, is ignored), each with the target's
// shape; floating dtypes convert (a bf16 file loads into fp32 weights), other dtypes must
// match. Everything is checked before anything is copied. Returns the file's metadata.
TensorMetadata load_tensors_into(const std::filesystem::path& path, const NamedTensors& targets);

}  // namespace nanochat

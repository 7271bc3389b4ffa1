// Named tensors <-> safetensors, on top of the torch-free reader and writer: dtype
// mapping, moving to and from devices, and name/shape/dtype checks before any copy.
#include "nanochat/tensor_io.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string_view>
#include <unordered_map>

#include "nanochat/error.hpp"
#include "nanochat/safetensors.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

struct DTypePair {
  at::ScalarType torch;
  DType file;
};

constexpr DTypePair kDTypes[] = {
    {at::kFloat, DType::F32}, {at::kDouble, DType::F64}, {at::kBFloat16, DType::BF16},
    {at::kHalf, DType::F16},  {at::kLong, DType::I64},   {at::kInt, DType::I32},
    {at::kShort, DType::I16}, {at::kChar, DType::I8},    {at::kByte, DType::U8},
    {at::kBool, DType::BOOL},
};

DType file_dtype(at::ScalarType dtype, const std::string& name) {
  for (const auto& pair : kDTypes) {
    if (pair.torch == dtype) return pair.file;
  }
  throw Error(fmt::format("tensor '{}' has dtype {}, which safetensors files here do not hold",
                          name, c10::toString(dtype)));
}

at::ScalarType torch_dtype(DType dtype) {
  for (const auto& pair : kDTypes) {
    if (pair.file == dtype) return pair.torch;
  }
  throw Error(fmt::format("no LibTorch dtype for {}", dtype_name(dtype)));
}

// A CPU tensor over the mapped bytes; valid while the reader lives, and never written.
at::Tensor view_of(const SafetensorsReader& reader, const TensorInfo& info) {
  void* data = const_cast<uint8_t*>(reader.data(info));
  return at::from_blob(data, info.shape, at::TensorOptions().dtype(torch_dtype(info.dtype)));
}

// torch.compile wraps the model; nanochat strips this prefix when it loads.
std::string_view strip_compile_prefix(std::string_view name) {
  constexpr std::string_view kPrefix = "_orig_mod.";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  return name;
}

// Problems are collected, not thrown one at a time, so one message shows everything
// that is wrong with a file (usually a config mismatch shows as many shapes at once).
class Problems {
 public:
  void add(std::string problem) {
    if (list_.size() < kShown) list_.push_back(std::move(problem));
    ++count_;
  }
  void throw_if_any(const fs::path& path) const {
    if (count_ == 0) return;
    std::string message = fmt::format("{}: cannot load: {}", path.string(), fmt::join(list_, "; "));
    if (count_ > kShown) message += fmt::format("; and {} more", count_ - kShown);
    throw Error(message + " (was it saved from a model with another config?)");
  }

 private:
  static constexpr size_t kShown = 6;
  std::vector<std::string> list_;
  size_t count_ = 0;
};

}  // namespace

void save_tensors(const fs::path& path, const NamedTensors& tensors, const TensorMetadata& metadata) {
  SafetensorsWriter writer;
  std::vector<at::Tensor> host;  // keeps the bytes alive until write()
  host.reserve(tensors.size());
  try {
    for (const auto& [name, tensor] : tensors) {
      if (!tensor.defined()) throw Error(fmt::format("tensor '{}' is undefined", name));
      DType dtype = file_dtype(tensor.scalar_type(), name);
      host.push_back(tensor.detach().to(at::kCPU).contiguous());
      const at::Tensor& cpu = host.back();
      writer.add(name, dtype, cpu.sizes().vec(), cpu.data_ptr(), cpu.nbytes());
    }
  } catch (const Error& e) {
    throw Error(fmt::format("{}: cannot save: {}", path.string(), e.what()));
  }
  for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
  writer.write(path);
}

LoadedTensors load_tensors(const fs::path& path, c10::Device device) {
  SafetensorsReader reader(path);
  LoadedTensors loaded;
  loaded.metadata = reader.metadata();
  for (const TensorInfo& info : reader.tensors()) {
    at::Tensor tensor = view_of(reader, info).to(device, /*non_blocking=*/false, /*copy=*/true);
    loaded.tensors.emplace_back(info.name, std::move(tensor));
  }
  return loaded;
}

TensorMetadata load_tensors_into(const fs::path& path, const NamedTensors& targets) {
  SafetensorsReader reader(path);
  std::unordered_map<std::string_view, const TensorInfo*> in_file;
  for (const TensorInfo& info : reader.tensors()) in_file[strip_compile_prefix(info.name)] = &info;

  Problems problems;
  std::vector<std::pair<const at::Tensor*, const TensorInfo*>> copies;
  std::unordered_map<std::string_view, bool> expected;
  for (const auto& [name, target] : targets) {
    expected[name] = true;
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.add(fmt::format("missing tensor '{}'", name));
      continue;
    }
    const TensorInfo& info = *it->second;
    if (target.sizes() != at::IntArrayRef(info.shape)) {
      problems.add(fmt::format("'{}' has shape [{}] in the file, the model expects {}", name,
                               fmt::join(info.shape, ", "), c10::str(target.sizes())));
      continue;
    }
    at::ScalarType stored = torch_dtype(info.dtype);
    bool convertible = stored == target.scalar_type() ||
                       (at::isFloatingType(stored) && at::isFloatingType(target.scalar_type()));
    if (!convertible) {
      problems.add(fmt::format("'{}' is {} in the file, the model expects {}", name,
                               dtype_name(info.dtype), c10::toString(target.scalar_type())));
      continue;
    }
    copies.emplace_back(&target, &info);
  }
  for (const TensorInfo& info : reader.tensors()) {
    if (!expected.count(strip_compile_prefix(info.name))) {
      problems.add(fmt::format("unexpected tensor '{}'", info.name));
    }
  }
  problems.throw_if_any(path);

  at::NoGradGuard no_grad;
  for (const auto& [target, info] : copies) target->copy_(view_of(reader, *info));
  return reader.metadata();
}

}  // namespace nanochat

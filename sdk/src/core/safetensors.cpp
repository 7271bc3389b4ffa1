// Reads and writes the safetensors format used for weights and optimizer state. The
// reader maps the file and checks every header field before handing out a byte, so a
// corrupt or truncated file fails with a message instead of a crash.
#include "nanochat/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "nanochat/atomic_file.hpp"
#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps the header's order, so tensors stay in file order

namespace nanochat {
namespace {

// The reference implementation rejects headers above 100 MB; a larger length field is
// corruption, not a real header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeEntry {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},   {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeEntry& entry_for(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  throw Error(fmt::format("invalid dtype value {}", static_cast<int>(dtype)));
}

const DTypeEntry* find_dtype(const std::string& name) {
  for (const auto& entry : kDTypes) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

std::string supported_dtypes() {
  std::string names;
  for (const auto& entry : kDTypes) names += std::string(names.empty() ? "" : ", ") + entry.name;
  return names;
}

template <class... Args>
[[noreturn]] void fail(const fs::path& path, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(path.string() + ": " + fmt::format(format, std::forward<Args>(args)...));
}

// Bytes a tensor of this shape must occupy, or false on overflow. A zero dimension makes
// the tensor empty even when the other dimensions would overflow when multiplied.
bool tensor_bytes(const std::vector<int64_t>& shape, size_t dtype_size, uint64_t* bytes) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    *bytes = 0;
    return true;
  }
  uint64_t total = dtype_size;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(total, static_cast<uint64_t>(dim), &total)) return false;
  }
  *bytes = total;
  return true;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void put_u64_le(uint64_t value, uint8_t out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get_u64_le(const uint8_t in[8]) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

// --- reading -----------------------------------------------------------------------

// nlohmann keeps the last of two equal keys silently; a duplicated tensor name is
// corruption, so the parser callback records keys per object to catch it.
class DuplicateKeyCheck {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys_.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      keys_.pop_back();
    } else if (event == Json::parse_event_t::key) {
      std::string key = parsed.get<std::string>();
      if (!keys_.back().insert(key).second && duplicate_.empty()) duplicate_ = key;
    }
    return true;
  }
  const std::string& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> keys_;
  std::string duplicate_;
};

Json parse_header(const fs::path& path, const char* begin, size_t size) {
  DuplicateKeyCheck check;
  Json header;
  try {
    header = Json::parse(begin, begin + size,
                         [&check](int depth, Json::parse_event_t event, Json& parsed) {
                           return check(depth, event, parsed);
                         });
  } catch (const nlohmann::json::exception& e) {
    fail(path, "header is not valid JSON ({}); the file is corrupt or not safetensors", e.what());
  }
  if (!check.duplicate().empty()) fail(path, "header has the key '{}' twice", check.duplicate());
  if (!header.is_object()) fail(path, "header is JSON but not an object");
  return header;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const Json& value) {
  if (!value.is_object()) fail(path, "'{}' must be an object of strings", kMetadataKey);
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) fail(path, "'{}' entry '{}' is not a string", kMetadataKey, key);
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

const Json& field(const fs::path& path, const std::string& name, const Json& entry,
                  const char* key) {
  auto it = entry.find(key);
  if (it == entry.end()) fail(path, "tensor '{}' has no \"{}\" field", name, key);
  return *it;
}

DType parse_dtype(const fs::path& path, const std::string& name, const Json& entry) {
  const Json& value = field(path, name, entry, "dtype");
  if (!value.is_string()) fail(path, "tensor '{}': \"dtype\" is not a string", name);
  const DTypeEntry* dtype = find_dtype(value.get<std::string>());
  if (dtype == nullptr) {
    fail(path, "tensor '{}' has unknown dtype '{}' (supported: {})", name,
         value.get<std::string>(), supported_dtypes());
  }
  return dtype->dtype;
}

std::vector<int64_t> parse_shape(const fs::path& path, const std::string& name,
                                 const Json& entry) {
  const Json& value = field(path, name, entry, "shape");
  if (!value.is_array()) fail(path, "tensor '{}': \"shape\" is not an array", name);
  std::vector<int64_t> shape;
  for (const Json& dim : value) {
    if (dim.is_number_integer() && !dim.is_number_unsigned()) {
      fail(path, "tensor '{}' has a negative dimension {} in its shape", name, dim.dump());
    }
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(path, "tensor '{}': shape entry {} is not a valid dimension", name, dim.dump());
    }
    shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets(const fs::path& path, const std::string& name,
                                            const Json& entry) {
  const Json& value = field(path, name, entry, "data_offsets");
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned()) {
    fail(path, "tensor '{}': \"data_offsets\" must be [begin, end] with non-negative integers, got {}",
         name, value.dump());
  }
  uint64_t begin = value[0].get<uint64_t>();
  uint64_t end = value[1].get<uint64_t>();
  if (begin > end) fail(path, "tensor '{}' has data_offsets [{}, {}]: begin is after end", name, begin, end);
  return {begin, end};
}

TensorInfo parse_tensor(const fs::path& path, const std::string& name, const Json& entry) {
  if (!entry.is_object()) fail(path, "header entry '{}' is not an object", name);
  TensorInfo info;
  info.name = name;
  info.dtype = parse_dtype(path, name, entry);
  info.shape = parse_shape(path, name, entry);
  auto [begin, end] = parse_offsets(path, name, entry);
  info.offset = begin;
  info.nbytes = end - begin;
  uint64_t expected = 0;
  if (!tensor_bytes(info.shape, dtype_size(info.dtype), &expected)) {
    fail(path, "tensor '{}' shape {} is too large", name, shape_string(info.shape));
  }
  if (expected != info.nbytes) {
    fail(path, "tensor '{}' is {} {} ({} bytes) but data_offsets [{}, {}] span {} bytes", name,
         dtype_name(info.dtype), shape_string(info.shape), expected, begin, end, info.nbytes);
  }
  return info;
}

void check_ranges(const fs::path& path, const std::vector<TensorInfo>& tensors,
                  uint64_t data_size) {
  uint64_t needed = 0;
  for (const auto& t : tensors) needed = std::max(needed, t.offset + t.nbytes);
  if (needed > data_size) {
    fail(path, "truncated: header says {} bytes of tensor data, file has {}", needed, data_size);
  }
  // Empty tensors occupy no bytes, so they cannot overlap anything wherever they point.
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : tensors) {
    if (t.nbytes > 0) sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    const TensorInfo& prev = *sorted[i - 1];
    const TensorInfo& cur = *sorted[i];
    if (prev.offset + prev.nbytes > cur.offset) {
      fail(path, "tensors '{}' and '{}' overlap in the data section", prev.name, cur.name);
    }
  }
}

}  // namespace

size_t dtype_size(DType dtype) { return entry_for(dtype).size; }

const char* dtype_name(DType dtype) { return entry_for(dtype).name; }

DType dtype_from_name(const std::string& name) {
  const DTypeEntry* entry = find_dtype(name);
  if (entry == nullptr) {
    throw Error(fmt::format("unknown dtype '{}' (supported: {})", name, supported_dtypes()));
  }
  return entry->dtype;
}

// --- SafetensorsWriter --------------------------------------------------------------

void SafetensorsWriter::add(const std::string& name, DType dtype,
                            const std::vector<int64_t>& shape, const void* data,
                            size_t nbytes) {
  if (name == kMetadataKey) throw Error(fmt::format("'{}' is reserved, not a tensor name", name));
  for (const auto& entry : entries_) {
    if (entry.info.name == name) throw Error(fmt::format("tensor '{}' added twice", name));
  }
  for (int64_t dim : shape) {
    if (dim < 0) throw Error(fmt::format("tensor '{}' has negative shape {}", name, shape_string(shape)));
  }
  uint64_t expected = 0;
  if (!tensor_bytes(shape, dtype_size(dtype), &expected) || expected != nbytes) {
    throw Error(fmt::format("tensor '{}': {} {} does not match {} bytes of data", name,
                            dtype_name(dtype), shape_string(shape), nbytes));
  }
  if (data == nullptr && nbytes > 0) throw Error(fmt::format("tensor '{}' has no data", name));
  TensorInfo info{name, dtype, shape, 0, nbytes};
  if (!entries_.empty()) info.offset = entries_.back().info.offset + entries_.back().info.nbytes;
  entries_.push_back({std::move(info), data});
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::write(const fs::path& path) const {
  Json header = Json::object();
  if (!metadata_.empty()) header[kMetadataKey] = metadata_;
  for (const auto& entry : entries_) {
    const TensorInfo& info = entry.info;
    header[info.name] = {{"dtype", dtype_name(info.dtype)},
                         {"shape", info.shape},
                         {"data_offsets", {info.offset, info.offset + info.nbytes}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(path, "cannot encode the header ({}); tensor names and metadata must be UTF-8", e.what());
  }
  // Padding to 8 bytes keeps the data section aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  uint8_t length[8];
  put_u64_le(text.size(), length);
  AtomicFileWriter out(path);
  out.write(length, sizeof(length));
  out.write(text);
  for (const auto& entry : entries_) out.write(entry.data, entry.info.nbytes);
  out.commit();
}

// --- SafetensorsReader --------------------------------------------------------------

struct SafetensorsReader::Impl {
  fs::path path;
  void* map = MAP_FAILED;
  size_t map_size = 0;
  const uint8_t* data_section = nullptr;
  uint64_t data_size = 0;
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string, size_t> index;
  std::map<std::string, std::string> metadata;

  ~Impl() {
    if (map != MAP_FAILED) ::munmap(map, map_size);
  }

  void map_file();
  void parse();
};

void SafetensorsReader::Impl::map_file() {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open: {}", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path, "cannot stat: {}", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  map_size = static_cast<size_t>(st.st_size);
  if (map_size < 8) {
    ::close(fd);
    fail(path, "truncated: {} bytes, shorter than the 8-byte header length", map_size);
  }
  map = ::mmap(nullptr, map_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) fail(path, "cannot mmap {} bytes: {}", map_size, std::strerror(err));
}

void SafetensorsReader::Impl::parse() {
  const uint8_t* bytes = static_cast<const uint8_t*>(map);
  uint64_t header_size = get_u64_le(bytes);
  if (header_size > kMaxHeaderBytes) {
    fail(path, "header length field says {} bytes, over the {} limit; the file is corrupt or not safetensors",
         header_size, kMaxHeaderBytes);
  }
  if (header_size > map_size - 8) {
    fail(path, "truncated: header says it is {} bytes, file has {} after the length field",
         header_size, map_size - 8);
  }
  data_section = bytes + 8 + header_size;
  data_size = map_size - 8 - header_size;

  Json header = parse_header(path, reinterpret_cast<const char*>(bytes + 8), header_size);
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      metadata = parse_metadata(path, entry);
      continue;
    }
    index.emplace(name, tensors.size());
    tensors.push_back(parse_tensor(path, name, entry));
  }
  check_ranges(path, tensors, data_size);
}

SafetensorsReader::SafetensorsReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->map_file();
  impl_->parse();
}

SafetensorsReader::~SafetensorsReader() = default;
SafetensorsReader::SafetensorsReader(SafetensorsReader&&) noexcept = default;
SafetensorsReader& SafetensorsReader::operator=(SafetensorsReader&&) noexcept = default;

const fs::path& SafetensorsReader::path() const { return impl_->path; }

const std::vector<TensorInfo>& SafetensorsReader::tensors() const { return impl_->tensors; }

bool SafetensorsReader::contains(const std::string& name) const {
  return impl_->index.count(name) > 0;
}

const TensorInfo& SafetensorsReader::info(const std::string& name) const {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) fail(impl_->path, "no tensor named '{}'", name);
  return impl_->tensors[it->second];
}

const uint8_t* SafetensorsReader::data(const TensorInfo& info) const {
  if (info.offset > impl_->data_size || info.nbytes > impl_->data_size - info.offset) {
    fail(impl_->path, "tensor '{}' lies outside this file's data section", info.name);
  }
  return impl_->data_section + info.offset;
}

const std::map<std::string, std::string>& SafetensorsReader::metadata() const {
  return impl_->metadata;
}

}  // namespace nanochat

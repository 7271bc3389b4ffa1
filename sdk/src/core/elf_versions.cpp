// Reading .gnu.version_r and .gnu.version_d from an ELF file through its section headers.
#include "elf_versions.hpp"

#include <elf.h>
#include <link.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "nanochat/error.hpp"

namespace nanochat::elf {
namespace fs = std::filesystem;
namespace {

// The ELF class and byte order of this process: the only ones it can load.
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kNativeData = ELFDATA2LSB;
#else
constexpr unsigned char kNativeData = ELFDATA2MSB;
#endif
constexpr unsigned char kNativeClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;

class ElfFile {
 public:
  explicit ElfFile(const fs::path& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error(path.string() + ": cannot open for reading");
    in_.seekg(0, std::ios::end);
    const auto end = in_.tellg();
    size_ = end < 0 ? 0 : static_cast<uint64_t>(end);
  }

  // False when the file is not an ELF file this process could load at all.
  bool read_header() {
    if (size_ < sizeof(ElfW(Ehdr))) return false;
    read_at(0, &header_, sizeof header_);
    if (std::memcmp(header_.e_ident, ELFMAG, SELFMAG) != 0) return false;
    if (header_.e_ident[EI_CLASS] != kNativeClass || header_.e_ident[EI_DATA] != kNativeData) return false;
    if (header_.e_shnum != 0 && header_.e_shentsize != sizeof(ElfW(Shdr))) malformed("section header size");
    return true;
  }

  // The first section of `type`, if any.
  std::optional<ElfW(Shdr)> section_of_type(uint32_t type) {
    for (uint16_t i = 0; i < header_.e_shnum; ++i) {
      ElfW(Shdr) section = section_header(i);
      if (section.sh_type == type) return section;
    }
    return std::nullopt;
  }

  ElfW(Shdr) section_header(uint32_t index) {
    if (index >= header_.e_shnum) malformed("section index out of range");
    ElfW(Shdr) section;
    read_at(header_.e_shoff + uint64_t{index} * sizeof(ElfW(Shdr)), &section, sizeof section);
    return section;
  }

  // A section's bytes, checked against the file.
  std::vector<char> contents(const ElfW(Shdr)& section) {
    check_range(section.sh_offset, section.sh_size);
    std::vector<char> bytes(section.sh_size);
    read_at(section.sh_offset, bytes.data(), bytes.size());
    return bytes;
  }

  [[noreturn]] void malformed(const std::string& what) const {
    throw Error(path_.string() + ": malformed ELF file (" + what + ")");
  }

 private:
  void check_range(uint64_t offset, uint64_t size) const {
    if (offset > size_ || size > size_ - offset) malformed("a section reaches past the end of the file");
  }

  void read_at(uint64_t offset, void* out, uint64_t size) {
    check_range(offset, size);
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(size));
    if (!in_) throw Error(path_.string() + ": read failed");
  }

  fs::path path_;
  std::ifstream in_;
  uint64_t size_ = 0;
  ElfW(Ehdr) header_{};
};

// One version section and the string table its sh_link names.
struct VersionSection {
  std::vector<char> bytes;
  std::vector<char> strings;
  uint32_t entries = 0;  // sh_info: how many Verneed / Verdef records the chain holds
};

// `record_size`: the smallest record of the chain, which bounds how many it can hold (so a
// chain that loops back on itself ends).
std::optional<VersionSection> version_section(ElfFile& file, uint32_t type, size_t record_size) {
  auto section = file.section_of_type(type);
  if (!section) return std::nullopt;
  VersionSection result;
  result.bytes = file.contents(*section);
  result.strings = file.contents(file.section_header(section->sh_link));
  result.entries = section->sh_info;
  if (result.entries > result.bytes.size() / record_size) file.malformed("more version records than the section holds");
  return result;
}

// A record of type T at `offset` in `bytes`, bounds-checked.
template <class T>
T record_at(const std::vector<char>& bytes, uint64_t offset, ElfFile& file) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset) file.malformed("a version record is out of its section");
  T record;
  std::memcpy(&record, bytes.data() + offset, sizeof record);
  return record;
}

std::string string_at(const std::vector<char>& strings, uint64_t offset, ElfFile& file) {
  if (offset >= strings.size()) file.malformed("a version name is out of the string table");
  const char* start = strings.data() + offset;
  const void* end = std::memchr(start, '\0', strings.size() - offset);
  if (end == nullptr) file.malformed("a version name is not terminated");
  return std::string(start, static_cast<const char*>(end));
}

}  // namespace

std::optional<std::map<std::string, std::set<std::string>>> needed_versions(const fs::path& path) {
  ElfFile file(path);
  if (!file.read_header()) return std::nullopt;
  std::map<std::string, std::set<std::string>> needs;
  auto section = version_section(file, SHT_GNU_verneed, sizeof(ElfW(Verneed)));
  if (!section) return needs;
  uint64_t at = 0;
  for (uint32_t i = 0; i < section->entries; ++i) {
    auto need = record_at<ElfW(Verneed)>(section->bytes, at, file);
    std::set<std::string>& versions = needs[string_at(section->strings, need.vn_file, file)];
    uint64_t aux_at = at + need.vn_aux;
    for (uint16_t j = 0; j < need.vn_cnt; ++j) {
      auto aux = record_at<ElfW(Vernaux)>(section->bytes, aux_at, file);
      versions.insert(string_at(section->strings, aux.vna_name, file));
      aux_at += aux.vna_next;
    }
    if (need.vn_next == 0) break;
    at += need.vn_next;
  }
  return needs;
}

std::optional<std::set<std::string>> defined_versions(const fs::path& path) {
  ElfFile file(path);
  if (!file.read_header()) return std::nullopt;
  std::set<std::string> versions;
  auto section = version_section(file, SHT_GNU_verdef, sizeof(ElfW(Verdef)));
  if (!section) return versions;
  uint64_t at = 0;
  for (uint32_t i = 0; i < section->entries; ++i) {
    auto def = record_at<ElfW(Verdef)>(section->bytes, at, file);
    // The first aux names the version; further ones name its parents, defined elsewhere.
    if (def.vd_cnt > 0 && (def.vd_flags & VER_FLG_BASE) == 0) {
      auto aux = record_at<ElfW(Verdaux)>(section->bytes, at + def.vd_aux, file);
      versions.insert(string_at(section->strings, aux.vda_name, file));
    }
    if (def.vd_next == 0) break;
    at += def.vd_next;
  }
  return versions;
}

std::optional<fs::path> loaded_library(const std::string& prefix) {
  struct Search {
    const std::string* prefix;
    std::optional<fs::path> found;
  } search{&prefix, std::nullopt};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name == nullptr || *info->dlpi_name == '\0') return 0;
        fs::path file(info->dlpi_name);
        if (file.filename().string().rfind(*s->prefix, 0) != 0) return 0;
        s->found = file;
        return 1;
      },
      &search);
  return search.found;
}

namespace {

std::vector<unsigned long> version_numbers(const std::string& name) {
  std::vector<unsigned long> numbers;
  size_t at = name.find('_');
  while (at != std::string::npos && at + 1 < name.size()) {
    const char* start = name.c_str() + at + 1;
    char* end = nullptr;
    numbers.push_back(std::strtoul(start, &end, 10));
    at = *end == '.' ? static_cast<size_t>(end - name.c_str()) : std::string::npos;
  }
  return numbers;
}

}  // namespace

std::string version_family(const std::string& name) { return name.substr(0, name.find('_')); }

bool version_name_less(const std::string& a, const std::string& b) {
  if (version_family(a) != version_family(b)) return version_family(a) < version_family(b);
  return version_numbers(a) < version_numbers(b);
}

}  // namespace nanochat::elf

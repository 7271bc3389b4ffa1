// Symbol versions read from ELF shared libraries on disk, without loading them: which
// versions a library needs from each library it links (.gnu.version_r, e.g. GLIBCXX_3.4.30
// from libstdc++.so.6) and which versions a library defines (.gnu.version_d). The plugin
// loader compares a plugin's libstdc++ needs with what the host's libstdc++ defines before
// dlopen, to refuse a plugin built by a newer compiler with a reason instead of the dynamic
// linker's message. Every read is bounds-checked: the files are untrusted.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace nanochat::elf {

// Needed versions per linked library file name ("libstdc++.so.6" -> {"GLIBCXX_3.4", ...}).
// nullopt when `file` is not an ELF file of this machine's class and byte order (the
// dynamic linker then says why it cannot load it). Throws nanochat::Error naming the file
// when it is an ELF file whose version sections are malformed.
std::optional<std::map<std::string, std::set<std::string>>> needed_versions(const std::filesystem::path& file);

// The version names `file` defines, without its base entry (the soname). Same refusals.
std::optional<std::set<std::string>> defined_versions(const std::filesystem::path& file);

// The file of a library loaded in this process whose file name starts with `prefix`
// ("libstdc++.so"), or nullopt when none is loaded.
std::optional<std::filesystem::path> loaded_library(const std::string& prefix);

// Orders version names of one family by their numbers: GLIBCXX_3.4.9 < GLIBCXX_3.4.30.
bool version_name_less(const std::string& a, const std::string& b);

// The part before the numbers: "GLIBCXX" for "GLIBCXX_3.4.30".
std::string version_family(const std::string& name);

}  // namespace nanochat::elf

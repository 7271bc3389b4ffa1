// The descriptor check (every refusal reason, that a foreign ABI major is refused before
// any other field is read, that fields after ABI 1.0 are read only when struct_size covers
// them), the ELF symbol-version reader against readelf, the real test plugins the loader
// must refuse before or after dlopen, plugin file names, the search path (its order, never
// a relative folder, the build tree only for binaries inside it) and the registry's
// thread safety.
#include <gtest/gtest.h>

#include <boost/version.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <optional>
#include <thread>

#include "elf_versions.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/build_config.hpp"
#include "nanochat/plugin_loader.hpp"
#include "nanochat/plugin_registry.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

void* no_create(const char*, char*, size_t) { return nullptr; }
void no_destroy(void*) {}

const fs::path kTestPlugins = NANOCHAT_TEST_PLUGIN_DIR;
constexpr uint32_t kSize_1_0 = offsetof(nanochat_plugin_descriptor, destroy) + sizeof(nanochat_destroy_fn);

nanochat_plugin_descriptor good_descriptor() {
  return {NANOCHAT_ABI_MAJOR, NANOCHAT_ABI_MINOR, sizeof(nanochat_plugin_descriptor), NANOCHAT_KIND_STAGE,
          "good", "1.0", "a good one", "", _GLIBCXX_USE_CXX11_ABI, "nanochat.stage/1", &no_create, &no_destroy,
          BOOST_VERSION, "GCC test"};
}

// A fresh temp folder, removed at the end of the test.
struct TempFolder {
  fs::path path;
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "nanochat-plugin-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempFolder() { fs::remove_all(path); }
};

HostAbi host() {
  HostAbi abi = HostAbi::current();
  abi.torch_version = "2.11.0";
  return abi;
}

TEST(CheckDescriptor, AcceptsGoodAndOlderMinor) {
  auto d = good_descriptor();
  EXPECT_EQ(check_descriptor(d, host()), "");
  HostAbi newer = host();
  newer.abi_minor = d.abi_minor + 3;
  EXPECT_EQ(check_descriptor(d, newer), "");  // a plugin built for an older minor still loads
  d.torch_version = "2.11.0";
  EXPECT_EQ(check_descriptor(d, host()), "");
}

TEST(CheckDescriptor, ForeignMajorIsRefusedBeforeAnythingElseIsRead) {
  // A descriptor of another major may have any layout: only the first field is trusted.
  struct Foreign {
    uint32_t abi_major;
    uint32_t garbage[64];
  } foreign{};
  foreign.abi_major = 2;
  for (auto& word : foreign.garbage) word = 0xDEADBEEF;
  std::string reason = check_descriptor(*reinterpret_cast<nanochat_plugin_descriptor*>(&foreign), host());
  EXPECT_NE(reason.find("SDK ABI major 2"), std::string::npos) << reason;
}

TEST(CheckDescriptor, RefusesEachDefectWithItsReason) {
  struct Case {
    const char* what;
    void (*mutate)(nanochat_plugin_descriptor&);
    const char* reason;
  };
  const Case cases[] = {
      {"newer minor", [](auto& d) { d.abi_minor += 1; }, "needs SDK ABI"},
      {"short struct", [](auto& d) { d.struct_size = 16; }, "descriptor is 16 bytes"},
      {"unknown kind", [](auto& d) { d.kind = 42; }, "unknown plugin kind 42"},
      {"bad name", [](auto& d) { d.name = "Bad Name"; }, "invalid plugin name"},
      {"null name", [](auto& d) { d.name = nullptr; }, "invalid plugin name"},
      {"other torch", [](auto& d) { d.torch_version = "2.10.0"; }, "built with LibTorch 2.10.0"},
      {"other C++ ABI", [](auto& d) { d.cxx11_abi = !d.cxx11_abi; }, "_GLIBCXX_USE_CXX11_ABI"},
      {"other Boost", [](auto& d) { d.boost_version -= 100; }, "this host uses Boost"},
      {"1.1 cut short", [](auto& d) { d.struct_size = kSize_1_0; }, "an ABI 1.1 descriptor has at least"},
      {"no factory", [](auto& d) { d.create = nullptr; }, "no create/destroy"},
      {"no interface", [](auto& d) { d.interface_id = ""; }, "names no interface"},
  };
  for (const auto& c : cases) {
    auto d = good_descriptor();
    c.mutate(d);
    std::string reason = check_descriptor(d, host());
    EXPECT_NE(reason.find(c.reason), std::string::npos) << c.what << ": " << reason;
  }
}

TEST(CheckDescriptor, FieldsAfterABI_1_0AreReadOnlyWhenStructSizeCoversThem) {
  // An ABI 1.0 plugin: its descriptor ends at `destroy`; what lies beyond is not its own.
  auto d = good_descriptor();
  d.abi_minor = 0;
  d.struct_size = kSize_1_0;
  d.boost_version = 1;  // would be refused if read
  EXPECT_EQ(check_descriptor(d, host()), "");
  EXPECT_FALSE(NANOCHAT_DESCRIPTOR_HAS(&d, boost_version));
  d.struct_size = sizeof(nanochat_plugin_descriptor);
  EXPECT_TRUE(NANOCHAT_DESCRIPTOR_HAS(&d, compiler));
  EXPECT_NE(check_descriptor(d, host()).find("built with Boost 0.0.1"), std::string::npos);
}

TEST(BoostVersionText, ReadsTheMacro) {
  EXPECT_EQ(boost_version_text(108100), "1.81.0");
  EXPECT_EQ(boost_version_text(107402), "1.74.2");
}

// The libstdc++ versions a library needs, as binutils' readelf lists them (the oracle).
std::set<std::string> readelf_libstdcxx_needs(const fs::path& library) {
  std::string command = "readelf -V --wide '" + library.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string text;
  char buffer[4096];
  while (pipe != nullptr && fgets(buffer, sizeof buffer, pipe) != nullptr) text += buffer;
  if (pipe != nullptr) EXPECT_EQ(pclose(pipe), 0) << command;
  // "  0x0010:   Version: 1  File: libstdc++.so.6  Cnt: 3" then "  0x0020:   Name: GLIBCXX_3.4  Flags: ..."
  std::set<std::string> needs;
  bool in_libstdcxx = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("File: ") != std::string::npos) in_libstdcxx = line.find("File: libstdc++.so.6 ") != std::string::npos;
    auto name = line.find("Name: ");
    if (in_libstdcxx && name != std::string::npos) {
      std::istringstream rest(line.substr(name + 6));
      std::string version;
      rest >> version;
      needs.insert(version);
    }
  }
  return needs;
}

TEST(ElfVersions, NeedsMatchReadelfAndTheHostDefinesThem) {
  const fs::path echo = kTestPlugins / "libnanochat-stage-echo.so";
  auto needs = elf::needed_versions(echo);
  ASSERT_TRUE(needs);
  const auto expected = readelf_libstdcxx_needs(echo);
  ASSERT_FALSE(expected.empty()) << "readelf lists no libstdc++ versions for " << echo;
  EXPECT_EQ((*needs)["libstdc++.so.6"], expected);
  EXPECT_FALSE((*needs)["libc.so.6"].empty());

  auto libstdcxx = elf::loaded_library("libstdc++.so");
  ASSERT_TRUE(libstdcxx) << "this test links libstdc++";
  auto defined = elf::defined_versions(*libstdcxx);
  ASSERT_TRUE(defined);
  EXPECT_TRUE(defined->count("GLIBCXX_3.4"));
  EXPECT_TRUE(defined->count("CXXABI_1.3"));
  EXPECT_FALSE(defined->count("libstdc++.so.6")) << "the base entry (the soname) is not a version";
  for (const auto& version : expected) EXPECT_TRUE(defined->count(version)) << version;
  EXPECT_EQ(check_libstdcxx_needs(echo), "");
}

TEST(ElfVersions, NotElfIsLeftToTheLinkerAndBrokenElfIsRefused) {
  TempFolder scratch;
  const fs::path text = scratch.path / "text.so";
  std::ofstream(text) << "not a library";
  EXPECT_FALSE(elf::needed_versions(text));

  // The echo plugin's ELF header with nothing after it: its section table is past the end.
  const fs::path cut = scratch.path / "libnanochat-stage-echo.so";
  std::ifstream whole(kTestPlugins / "libnanochat-stage-echo.so", std::ios::binary);
  std::string head(64, '\0');
  whole.read(head.data(), 64);
  std::ofstream(cut, std::ios::binary) << head;
  EXPECT_THROW(elf::needed_versions(cut), Error);
  try {
    PluginLibrary::open(cut);
    FAIL() << "a cut ELF file loaded";
  } catch (const PluginRefused& e) {
    EXPECT_NE(e.reason().find("cannot load: "), std::string::npos) << e.reason();
    EXPECT_NE(e.reason().find("malformed ELF file"), std::string::npos) << e.reason();
  }
}

TEST(ElfVersions, VersionNamesOrderByNumber) {
  EXPECT_TRUE(elf::version_name_less("GLIBCXX_3.4.9", "GLIBCXX_3.4.30"));
  EXPECT_TRUE(elf::version_name_less("GLIBCXX_3.4", "GLIBCXX_3.4.1"));
  EXPECT_FALSE(elf::version_name_less("CXXABI_1.3.13", "CXXABI_1.3.9"));
  EXPECT_EQ(elf::version_family("CXXABI_1.3.13"), "CXXABI");
}

// The real test plugins (tests/plugins) that must be refused, each for its own reason.
std::string refusal_of(const std::string& name) {
  try {
    PluginLibrary::open(kTestPlugins / ("libnanochat-stage-" + name + ".so"));
  } catch (const PluginRefused& e) {
    return e.reason();
  }
  return "";
}

TEST(PluginLibrary, RefusesAFunctionExportedAsTheEntry) {
  std::string reason = refusal_of("fnentry");
  EXPECT_NE(reason.find("'nanochat_plugin_entry' is exported as a function"), std::string::npos) << reason;
  EXPECT_NE(reason.find("must be a variable"), std::string::npos) << reason;
}

TEST(PluginLibrary, RefusesANewerLibstdcxxBeforeLoadingIt) {
  const fs::path newcxx = kTestPlugins / "libnanochat-stage-newcxx.so";
  std::string reason = refusal_of("newcxx");
  EXPECT_NE(reason.find("needs libstdc++ symbol version"), std::string::npos) << reason;
  EXPECT_NE(reason.find("GLIBCXX_3.4.99"), std::string::npos) << reason;
  EXPECT_NE(reason.find("does not have"), std::string::npos) << reason;
  // Refused before dlopen: the library is not among the loaded ones.
  EXPECT_FALSE(elf::loaded_library("libnanochat-stage-newcxx"));
  EXPECT_TRUE(readelf_libstdcxx_needs(newcxx).count("GLIBCXX_3.4.99")) << "the test plugin was not patched";
}

TEST(PluginLibrary, RefusesAnotherBoostAndAcceptsAnABI_1_0Plugin) {
  EXPECT_NE(refusal_of("oldboost").find("built with Boost"), std::string::npos) << refusal_of("oldboost");
  auto abi10 = PluginLibrary::open(kTestPlugins / "libnanochat-stage-abi10.so");
  EXPECT_EQ(abi10->info().abi_minor, 0u);
  EXPECT_EQ(abi10->info().boost_version, 0u) << "read past an ABI 1.0 descriptor";
  EXPECT_EQ(abi10->info().compiler, "");
  auto echo = PluginLibrary::open(kTestPlugins / "libnanochat-stage-echo.so");
  EXPECT_EQ(echo->info().boost_version, static_cast<uint32_t>(BOOST_VERSION));
  EXPECT_FALSE(echo->info().compiler.empty());
  ASSERT_FALSE(echo->info().libstdcxx_needs.empty());
  EXPECT_EQ(echo->info().libstdcxx_needs.front().rfind("CXXABI_", 0) == 0 ||
                echo->info().libstdcxx_needs.front().rfind("GLIBCXX_", 0) == 0,
            true);
}

TEST(PluginFileName, RoundTrips) {
  EXPECT_EQ(plugin_file_name(PluginKind::tokenizer, "bpe"), "libnanochat-tokenizer-bpe.so");
  auto id = parse_plugin_file_name("libnanochat-optimizer-muon.so");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->kind, PluginKind::optimizer);
  EXPECT_EQ(id->name, "muon");
  EXPECT_FALSE(parse_plugin_file_name("libnanochat-widget-x.so"));
  EXPECT_FALSE(parse_plugin_file_name("libnanochat-stage-x.so.1"));
  EXPECT_FALSE(parse_plugin_file_name("libtorch.so"));
}

class SearchPath : public ::testing::Test {
 protected:
  TempFolder scratch;
  fs::path root = scratch.path;
  void SetUp() override {
    for (const char* dir : {"cli", "env1", "env2", "xdg/nanochat/plugins"}) fs::create_directories(root / dir);
    setenv("NANOCHAT_PLUGIN_PATH", ((root / "env1").string() + ":" + (root / "missing").string() + ":" +
                                    (root / "env2").string()).c_str(), 1);
    setenv("XDG_DATA_HOME", (root / "xdg").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("NANOCHAT_PLUGIN_PATH");
    unsetenv("XDG_DATA_HOME");
    if (home_) setenv("HOME", home_->c_str(), 1);
    if (cwd_) fs::current_path(*cwd_);
  }
  // Runs the rest of the test with HOME unset and `dir` as the working folder.
  void without_home_in(const fs::path& dir) {
    if (const char* home = std::getenv("HOME")) home_ = home;
    unsetenv("HOME");
    cwd_ = fs::current_path();
    fs::current_path(dir);
  }
  void touch(const fs::path& file) { std::ofstream(file) << "x"; }

 private:
  std::optional<std::string> home_;
  std::optional<fs::path> cwd_;
};

TEST_F(SearchPath, OrderIsCliThenEnvThenUserFolder) {
  auto dirs = default_plugin_dirs({root / "cli"});
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], fs::canonical(root / "cli"));
  EXPECT_EQ(dirs[1], fs::canonical(root / "env1"));
  EXPECT_EQ(dirs[2], fs::canonical(root / "env2"));  // a missing folder is skipped
  EXPECT_EQ(dirs[3], fs::canonical(root / "xdg/nanochat/plugins"));
}

TEST_F(SearchPath, NeverARelativeFolderWithoutHome) {
  // A plugin folder where a relative "~/.local/share" would point from this working folder.
  fs::create_directories(root / "cwd" / ".local" / "share" / "nanochat" / "plugins");
  unsetenv("XDG_DATA_HOME");
  without_home_in(root / "cwd");
  auto user = user_plugin_dir();
  if (user) EXPECT_TRUE(user->is_absolute()) << *user;  // from the password database
  setenv("XDG_DATA_HOME", "relative/xdg", 1);           // the XDG spec: ignore a relative path
  EXPECT_EQ(user_plugin_dir(), user);
  for (const auto& dir : default_plugin_dirs({})) {
    EXPECT_TRUE(dir.is_absolute()) << dir;
    EXPECT_NE(dir, fs::canonical(root / "cwd" / ".local" / "share" / "nanochat" / "plugins"));
  }
  auto home = home_dir();
  if (home) EXPECT_TRUE(home->is_absolute()) << *home;
}

TEST_F(SearchPath, TheBuildTreeIsSearchedFromABinaryInsideIt) {
  // This test binary lives in the build tree, so the build tree's plugin folder is searched.
  ASSERT_TRUE(fs::is_directory(NANOCHAT_BUILD_PLUGIN_DIR)) << "build the plugins first";
  auto dirs = default_plugin_dirs({});
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), fs::canonical(NANOCHAT_BUILD_PLUGIN_DIR)), dirs.end());
  // (An installed binary outside it is tested in test_host_cli: InstalledHostIgnoresTheBuildTree.)
}

TEST_F(SearchPath, FirstMatchWinsAndDuplicatesAreReported) {
  touch(root / "env1" / "libnanochat-stage-a.so");
  touch(root / "env2" / "libnanochat-stage-a.so");
  touch(root / "env2" / "libnanochat-tokenizer-a.so");  // same name, other kind: not a duplicate
  touch(root / "env2" / "README.txt");
  auto entries = scan_plugin_dirs({root / "env1", root / "env2"});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, root / "env1" / "libnanochat-stage-a.so");
  ASSERT_EQ(entries[0].shadowed.size(), 1u);
  EXPECT_EQ(entries[0].shadowed[0], root / "env2" / "libnanochat-stage-a.so");
  EXPECT_EQ(entries[1].kind, PluginKind::tokenizer);
}

TEST_F(SearchPath, AFileThatIsNotALibraryIsRefusedNotFatal) {
  fs::path file = root / "env1" / "libnanochat-stage-fake.so";
  touch(file);
  try {
    PluginLibrary::open(file);
    FAIL() << "a text file loaded as a plugin";
  } catch (const PluginRefused& e) {
    EXPECT_NE(e.reason().find("cannot load"), std::string::npos) << e.reason();
  }
}

// Many threads ask for the search path while others replace it: each reader gets one of the
// lists whole (a reference into the registry, as before, could be read mid-assignment).
TEST(PluginRegistry, SearchDirsIsSafeAcrossThreads) {
  PluginRegistry registry;
  const std::vector<fs::path> a = {"/a/1", "/a/2", "/a/3"};
  const std::vector<fs::path> b = {"/b/1"};
  registry.set_search_dirs(a);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        auto dirs = registry.search_dirs();
        if (dirs != a && dirs != b) ++torn;
        ++reads;
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) registry.set_search_dirs((i + t) % 2 ? a : b);
    });
  }
  threads[4].join();
  threads[5].join();
  stop = true;
  for (int t = 0; t < 4; ++t) threads[t].join();
  EXPECT_EQ(torn, 0);
  EXPECT_GT(reads, 0);
}

// The default list is computed once, however many threads ask first.
TEST(PluginRegistry, DefaultDirsAreComputedOnceForAllThreads) {
  PluginRegistry registry;
  std::vector<std::vector<fs::path>> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) threads.emplace_back([&, t] { seen[t] = registry.search_dirs(); });
  for (auto& thread : threads) thread.join();
  for (const auto& dirs : seen) EXPECT_EQ(dirs, seen[0]);
  EXPECT_EQ(registry.search_dirs(), default_plugin_dirs({}));
}

}  // namespace

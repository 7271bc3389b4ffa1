// The descriptor check (every refusal reason, and that a foreign ABI major is refused
// before any other field is read), plugin file names, and the search path order.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "nanochat/plugin_loader.hpp"
#include "nanochat/plugin_registry.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

void* no_create(const char*, char*, size_t) { return nullptr; }
void no_destroy(void*) {}

nanochat_plugin_descriptor good_descriptor() {
  return {NANOCHAT_ABI_MAJOR, NANOCHAT_ABI_MINOR, sizeof(nanochat_plugin_descriptor), NANOCHAT_KIND_STAGE,
          "good", "1.0", "a good one", "", _GLIBCXX_USE_CXX11_ABI, "nanochat.stage/1", &no_create, &no_destroy};
}

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
  fs::path root;
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "nanochat-path-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root = pattern;
    for (const char* dir : {"cli", "env1", "env2", "xdg/nanochat/plugins"}) fs::create_directories(root / dir);
    setenv("NANOCHAT_PLUGIN_PATH", ((root / "env1").string() + ":" + (root / "missing").string() + ":" +
                                    (root / "env2").string()).c_str(), 1);
    setenv("XDG_DATA_HOME", (root / "xdg").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("NANOCHAT_PLUGIN_PATH");
    unsetenv("XDG_DATA_HOME");
    fs::remove_all(root);
  }
  void touch(const fs::path& file) { std::ofstream(file) << "x"; }
};

TEST_F(SearchPath, OrderIsCliThenEnvThenUserFolder) {
  auto dirs = default_plugin_dirs({root / "cli"});
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], fs::canonical(root / "cli"));
  EXPECT_EQ(dirs[1], fs::canonical(root / "env1"));
  EXPECT_EQ(dirs[2], fs::canonical(root / "env2"));  // a missing folder is skipped
  EXPECT_EQ(dirs[3], fs::canonical(root / "xdg/nanochat/plugins"));
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

}  // namespace

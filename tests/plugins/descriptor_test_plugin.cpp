// One stage plugin source, built several times with different compile definitions: the
// good plugin the host must accept and run, an ABI 1.0 one it must still accept, and each
// kind of bad one it must refuse (other ABI major, newer minor, other LibTorch, other C++
// ABI, other Boost, no entry, an entry that is a function, throwing factory).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "nanochat/error.hpp"
#include "nanochat/plugin.hpp"
#include "nanochat/stage.hpp"

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR NANOCHAT_ABI_MAJOR
#endif
#ifndef TEST_ABI_MINOR
#define TEST_ABI_MINOR NANOCHAT_ABI_MINOR
#endif
#ifndef TEST_TORCH_VERSION
#define TEST_TORCH_VERSION ""
#endif
#ifndef TEST_CXX11_ABI
#define TEST_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#endif
#ifndef TEST_BOOST_VERSION
#define TEST_BOOST_VERSION BOOST_VERSION
#endif
// An ABI 1.0 plugin says its descriptor ends at `destroy`: the host must not read further.
#ifdef TEST_ABI_1_0_SIZE
#define TEST_STRUCT_SIZE (offsetof(nanochat_plugin_descriptor, destroy) + sizeof(nanochat_destroy_fn))
#else
#define TEST_STRUCT_SIZE sizeof(nanochat_plugin_descriptor)
#endif

namespace po = boost::program_options;

namespace {

class EchoStage : public nanochat::Stage {
 public:
  EchoStage() {
#ifdef TEST_FACTORY_THROWS
    throw std::runtime_error("factory exploded on purpose");
#endif
  }

  void declare_options(po::options_description& options) override {
    options.add_options()("message", po::value<std::string>()->default_value("hello"), "what to print")(
        "count", po::value<int>()->default_value(1), "how many times")(
        "fail", po::bool_switch(), "throw an error instead of printing")(
        "fail-rank", po::value<int>()->default_value(-1), "throw an error on this RANK only")(
        "sleep", po::value<double>()->default_value(0), "seconds to sleep after printing");
  }

  void run(const po::variables_map& options, const nanochat::StageContext& context) override {
    const char* rank = std::getenv("RANK");
    if (options["fail"].as<bool>() || (rank != nullptr && std::atoi(rank) == options["fail-rank"].as<int>())) {
      throw nanochat::Error("echo stage asked to fail");
    }
    for (int i = 0; i < options["count"].as<int>(); ++i) {
      std::cout << "echo: " << options["message"].as<std::string>() << "\n";
    }
    std::cout << "base dir: " << context.base_dir.string() << "\n";
    if (rank != nullptr) std::cout << "rank " << rank << " of " << std::getenv("WORLD_SIZE") << "\n";
    std::cout.flush();
    std::this_thread::sleep_for(std::chrono::duration<double>(options["sleep"].as<double>()));
  }
};

const nanochat_plugin_descriptor descriptor = {
    TEST_ABI_MAJOR,
    TEST_ABI_MINOR,
    TEST_STRUCT_SIZE,
    NANOCHAT_KIND_STAGE,
    TEST_PLUGIN_NAME,
    "1.0.0",
    "descriptor test plugin",
    TEST_TORCH_VERSION,
    TEST_CXX11_ABI,
    nanochat::Stage::kInterfaceId,
    &nanochat::plugin_detail::create_object<nanochat::Stage, EchoStage>,
    &nanochat::plugin_detail::destroy_object<nanochat::Stage>,
    TEST_BOOST_VERSION,
    NANOCHAT_COMPILER_TEXT,
};

}  // namespace

extern "C" const nanochat_plugin_descriptor* test_plugin_describe() noexcept { return &descriptor; }

#if defined(TEST_ENTRY_IS_FUNCTION)
// The mistake the host must catch: a function under the entry's name instead of the alias.
extern "C" __attribute__((visibility("default"))) const nanochat_plugin_descriptor* nanochat_plugin_entry() noexcept {
  return &descriptor;
}
#elif !defined(TEST_NO_ENTRY)
BOOST_DLL_ALIAS(test_plugin_describe, nanochat_plugin_entry)
#endif

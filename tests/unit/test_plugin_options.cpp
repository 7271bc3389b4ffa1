// Plugin options without LibTorch: the PLUGIN.KEY=VALUE grammar and its errors, ranges and
// defaults, and the optimizer flags of add_optimizer_options() read from the command line
// and from an INI file through the host's parser.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "nanochat/error.hpp"
#include "nanochat/optimizer_options.hpp"
#include "nanochat/plugin_options.hpp"
#include "stage_options.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace nanochat;

namespace {

// The message of the UsageError `call` throws ("" if it throws none).
template <class Call>
std::string usage_error_of(Call call) {
  try {
    call();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

const OptionSpecs kMuonLike = {
    {"momentum", 0.95, "momentum", 0.0, 1.0, true},
    {"ns-steps", 5, "iterations", 1.0, 100.0, false, true},
    {"eps", 1e-10, "epsilon", 0.0},
};

TEST(PluginOption, ParsesPluginKeyAndValue) {
  PluginOption option = parse_plugin_option("--optimizer-option", "muon.ns-steps=6");
  EXPECT_EQ(option.plugin, "muon");
  EXPECT_EQ(option.key, "ns-steps");
  EXPECT_EQ(option.value, 6.0);
  option = parse_plugin_option("--optimizer-option", "adamw.eps=1e-8");
  EXPECT_EQ(option.plugin, "adamw");
  EXPECT_EQ(option.value, 1e-8);
  option = parse_option_assignment("--algo-option", "clip-eps=0.2");
  EXPECT_EQ(option.plugin, "");
  EXPECT_EQ(option.key, "clip-eps");
  EXPECT_EQ(option.value, 0.2);
}

TEST(PluginOption, SyntaxErrorsNameTheFlagAndTheText) {
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.ns-steps"); }),
            "--optimizer-option muon.ns-steps: expected KEY=VALUE, found no '='");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.ns-steps=six"); }),
            "--optimizer-option muon.ns-steps=six: 'six' is not a number");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.ns-steps=6x"); }),
            "--optimizer-option muon.ns-steps=6x: '6x' is not a number");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.ns-steps="); }),
            "--optimizer-option muon.ns-steps=: '' is not a number");
  EXPECT_NE(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.momentum=nan"); }), "");
  EXPECT_NE(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.momentum=inf"); }), "");
  EXPECT_NE(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.momentum=1e999"); }), "");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "ns-steps=6"); }),
            "--optimizer-option ns-steps=6: expected PLUGIN.KEY=VALUE, like muon.ns-steps=6");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", ".ns-steps=6"); }),
            "--optimizer-option .ns-steps=6: expected PLUGIN.KEY=VALUE, like muon.ns-steps=6");
  // The dot of the value is not the plugin's.
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "momentum=0.9"); }),
            "--optimizer-option momentum=0.9: expected PLUGIN.KEY=VALUE, like muon.ns-steps=6");
  EXPECT_EQ(usage_error_of([] { parse_plugin_option("--optimizer-option", "muon.ns_steps=6"); }),
            "--optimizer-option muon.ns_steps=6: option names are kebab-case, like 'ns-steps'");
  EXPECT_EQ(usage_error_of([] { parse_option_assignment("--algo-option", "clip-eps"); }),
            "--algo-option clip-eps: expected KEY=VALUE, found no '='");
}

TEST(PluginOption, LaterAssignmentsWin) {
  PluginOptionValues values =
      parse_plugin_options("--optimizer-option", {"muon.ns-steps=6", "adamw.beta1=0.9", "muon.ns-steps=7"});
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values["muon"], (OptionValues{{"ns-steps", 7.0}}));
  EXPECT_EQ(values["adamw"], (OptionValues{{"beta1", 0.9}}));
}

TEST(PluginOption, UnknownPluginsKeysAndRangesListWhatIsKnown) {
  const std::map<std::string, OptionSpecs> declared = {{"muon", kMuonLike}, {"adamw", {{"beta1", 0.8, "b1", 0.0, 1.0, true}}}};
  check_plugin_options("--optimizer-option", {{"muon", {{"ns-steps", 6.0}}}, {"adamw", {{"beta1", 0.9}}}}, declared);
  EXPECT_EQ(usage_error_of([&] { check_plugin_options("--optimizer-option", {{"lion", {{"beta1", 0.9}}}}, declared); }),
            "--optimizer-option lion.*: 'lion' is not a plugin in use here (in use: adamw, muon)");
  EXPECT_EQ(usage_error_of([&] { check_plugin_options("--optimizer-option", {{"muon", {{"nesterov", 0.0}}}}, declared); }),
            "--optimizer-option muon.nesterov=0: muon has no option 'nesterov' (it has: momentum, ns-steps, eps)");
  EXPECT_EQ(usage_error_of([&] { check_plugin_options("--optimizer-option", {{"muon", {{"ns-steps", 2.5}}}}, declared); }),
            "--optimizer-option muon.ns-steps=2.5: muon: ns-steps must be a whole number in [1, 100], got 2.5");
  EXPECT_EQ(usage_error_of([&] { check_plugin_options("--optimizer-option", {{"muon", {{"momentum", 1.0}}}}, declared); }),
            "--optimizer-option muon.momentum=1: muon: momentum must be in [0, 1), got 1");
}

TEST(OptionSpec, RangesAndDefaults) {
  EXPECT_EQ(kMuonLike[0].range_text(), "in [0, 1)");
  EXPECT_EQ(kMuonLike[1].range_text(), "a whole number in [1, 100]");
  EXPECT_EQ(kMuonLike[2].range_text(), ">= 0");
  EXPECT_EQ((OptionSpec{"x", 0.0, "any"}.range_text()), "any number");
  EXPECT_EQ(resolve_options("muon", kMuonLike, {}), (OptionValues{{"momentum", 0.95}, {"ns-steps", 5.0}, {"eps", 1e-10}}));
  EXPECT_EQ(resolve_options("muon", kMuonLike, {{"eps", 0.0}}).at("eps"), 0.0);
  EXPECT_EQ(usage_error_of([] { resolve_options("muon", kMuonLike, {{"lr", 0.1}}); }),
            "muon has no option 'lr' (it has: momentum, ns-steps, eps)");
  EXPECT_EQ(usage_error_of([] { resolve_options("muon", kMuonLike, {{"eps", -1.0}}); }), "muon: eps must be >= 0, got -1");
  EXPECT_EQ(usage_error_of([] { check_option_value("muon", kMuonLike[1], 0.0); }),
            "muon: ns-steps must be a whole number in [1, 100], got 0");
}

// ---- the optimizer flags ----------------------------------------------------------------

struct ParsedChoice {
  OptimizerChoice choice;
  po::variables_map values;
};

ParsedChoice parse_choice(const std::vector<std::string>& args) {
  ParsedChoice parsed;
  po::options_description options("stage");
  add_optimizer_options(options, parsed.choice);
  parsed.values = host::parse_stage_command_line(options, args, "pretrain").values;
  return parsed;
}

fs::path write_ini(const std::string& text) {
  fs::path file = fs::temp_directory_path() / ("nanochat-optimizer-options-" + std::to_string(::getpid()) + ".ini");
  std::ofstream(file) << text;
  return file;
}

TEST(OptimizerFlags, DefaultsAreNanochats) {
  ParsedChoice parsed = parse_choice({});
  EXPECT_EQ(parsed.choice.matrix, "muon");
  EXPECT_EQ(parsed.choice.embedding, "adamw");
  EXPECT_EQ(parsed.choice.matrix_lr, 0.02);
  EXPECT_EQ(parsed.choice.embedding_lr, 0.2);
  EXPECT_EQ(parsed.choice.unembedding_lr, 0.004);
  EXPECT_EQ(parsed.choice.weight_decay, 0.0);
  EXPECT_TRUE(parsed.choice.plugin_options.empty());
}

TEST(OptimizerFlags, CommandLineFillsTheChoice) {
  ParsedChoice parsed = parse_choice({"--matrix-optimizer", "adamw", "--embedding-optimizer", "adamw", "--matrix-lr",
                                      "0.003", "--weight-decay", "0.1", "--optimizer-option", "adamw.beta1=0.9",
                                      "--optimizer-option=adamw.eps=1e-8"});
  EXPECT_EQ(parsed.choice.matrix, "adamw");
  EXPECT_EQ(parsed.choice.embedding, "adamw");
  EXPECT_EQ(parsed.choice.matrix_lr, 0.003);
  EXPECT_EQ(parsed.choice.weight_decay, 0.1);
  EXPECT_EQ(parsed.choice.plugin_options, (PluginOptionValues{{"adamw", {{"beta1", 0.9}, {"eps", 1e-8}}}}));
  // The values are in the variables map too, for a stage that records its options.
  EXPECT_EQ(parsed.values["matrix-lr"].as<double>(), 0.003);
}

TEST(OptimizerFlags, IniLinesRepeatAndTheCommandLineReplacesThem) {
  fs::path ini = write_ini(
      "[pretrain]\nmatrix-optimizer = adamw\noptimizer-option = muon.ns-steps=6\n"
      "optimizer-option = muon.momentum=0.9\noptimizer-option = adamw.beta2=0.99\n");
  ParsedChoice from_file = parse_choice({"--config", ini.string()});
  EXPECT_EQ(from_file.choice.matrix, "adamw");
  EXPECT_EQ(from_file.choice.plugin_options,
            (PluginOptionValues{{"muon", {{"ns-steps", 6.0}, {"momentum", 0.9}}}, {"adamw", {{"beta2", 0.99}}}}));
  ParsedChoice overridden = parse_choice({"--config", ini.string(), "--optimizer-option", "muon.ns-steps=7"});
  EXPECT_EQ(overridden.choice.plugin_options, (PluginOptionValues{{"muon", {{"ns-steps", 7.0}}}}));
  fs::remove(ini);
}

TEST(OptimizerFlags, BadOptionTextIsAUsageError) {
  EXPECT_EQ(usage_error_of([] { parse_choice({"--optimizer-option", "muon.ns-steps"}); }),
            "--optimizer-option muon.ns-steps: expected KEY=VALUE, found no '='");
  fs::path ini = write_ini("optimizer-option = muon.ns-steps=many\n");
  EXPECT_EQ(usage_error_of([&] { parse_choice({"--config", ini.string()}); }),
            "--optimizer-option muon.ns-steps=many: 'many' is not a number");
  fs::remove(ini);
}

}  // namespace

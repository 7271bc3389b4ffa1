// Stage options from the command line and an INI file: the command line wins, top-level
// keys are shared defaults, a [stage] section's unknown keys are errors.
#include <gtest/gtest.h>

#include <fstream>

#include "nanochat/error.hpp"
#include "stage_options.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nanochat::host::parse_stage_command_line;

namespace {

po::options_description stage_options() {
  po::options_description options("stage");
  options.add_options()("depth", po::value<int>()->default_value(20), "")(
      "device", po::value<std::string>()->default_value("auto"), "")("verbose", po::bool_switch(), "");
  return options;
}

fs::path write_ini(const std::string& text) {
  fs::path file = fs::temp_directory_path() / ("nanochat-options-" + std::to_string(::getpid()) + ".ini");
  std::ofstream(file) << text;
  return file;
}

TEST(StageOptions, DefaultsWithoutFile) {
  auto parsed = parse_stage_command_line(stage_options(), {}, "pretrain");
  EXPECT_EQ(parsed.values["depth"].as<int>(), 20);
  EXPECT_FALSE(parsed.values["verbose"].as<bool>());
}

TEST(StageOptions, FileOverDefaultsCommandLineOverFile) {
  fs::path ini = write_ini("device = cpu\n[pretrain]\ndepth = 4\nverbose = true\n[sft]\ndepth = 99\n");
  auto from_file = parse_stage_command_line(stage_options(), {"--config", ini.string()}, "pretrain");
  EXPECT_EQ(from_file.values["depth"].as<int>(), 4);
  EXPECT_EQ(from_file.values["device"].as<std::string>(), "cpu");
  EXPECT_TRUE(from_file.values["verbose"].as<bool>());

  auto cli = parse_stage_command_line(stage_options(), {"--depth", "8", "--config", ini.string()}, "pretrain");
  EXPECT_EQ(cli.values["depth"].as<int>(), 8);
  EXPECT_EQ(cli.values["device"].as<std::string>(), "cpu");

  auto other = parse_stage_command_line(stage_options(), {"--config", ini.string(), "--config-section", "sft"}, "pretrain");
  EXPECT_EQ(other.values["depth"].as<int>(), 99);
  fs::remove(ini);
}

TEST(StageOptions, ErrorsAreUsageErrors) {
  fs::path ini = write_ini("[pretrain]\ndepht = 4\n");
  EXPECT_THROW(parse_stage_command_line(stage_options(), {"--config", ini.string()}, "pretrain"), nanochat::UsageError);
  EXPECT_THROW(parse_stage_command_line(stage_options(), {"--depth", "deep"}, "pretrain"), nanochat::UsageError);
  EXPECT_THROW(parse_stage_command_line(stage_options(), {"--nope"}, "pretrain"), nanochat::UsageError);
  EXPECT_THROW(parse_stage_command_line(stage_options(), {"stray"}, "pretrain"), nanochat::UsageError);
  fs::path bad = write_ini("[pretrain\ndepth = 4\n");
  EXPECT_THROW(parse_stage_command_line(stage_options(), {"--config", bad.string()}, "pretrain"), nanochat::UsageError);
  fs::remove(bad);
}

TEST(StageOptions, HelpStopsBeforeTheFileIsRead) {
  auto parsed = parse_stage_command_line(stage_options(), {"--help", "--config", "/nonexistent.ini"}, "pretrain");
  EXPECT_TRUE(parsed.help);
}

}  // namespace

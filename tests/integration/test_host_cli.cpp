// The `nanochat` host end to end: the real binary, real plugin libraries (tests/plugins),
// real files. Covers the plugin contract's refusals, the search path (no relative folder
// without HOME, no build tree for an installed binary), options from INI and command line,
// chains with done markers (and names that would escape the run folder), --smoke sections,
// --from/--only, the d20 preset's dry run against nanochat's figures, installing and
// removing plugins, the template plugin's artifact listing, and an RL algorithm's options in
// `plugins info`.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <regex>

#include "nanochat/build_config.hpp"
#include "nanochat/plugin_abi.h"

#include "host_process.hpp"
#include "nanochat/subprocess.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;
using nanochat::test::read_text;
using nanochat::test::write_text;

namespace {

const fs::path kPluginDir = NANOCHAT_TEST_PLUGIN_DIR;

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class HostCli : public ::testing::Test {
 protected:
  ScratchDir scratch;
  std::vector<std::pair<std::string, std::string>> env;

  void SetUp() override {
    fs::create_directories(scratch.path / "home");
    env = {{"NANOCHAT_PLUGIN_PATH", kPluginDir.string()},
           {"NANOCHAT_BASE_DIR", (scratch.path / "base").string()},
           {"XDG_DATA_HOME", (scratch.path / "xdg").string()},
           {"HOME", (scratch.path / "home").string()}};
  }

  HostResult nanochat(const std::vector<std::string>& args) {
    return nanochat::test::run_host(NANOCHAT_TEST_HOST, args, env);
  }

  void set_env(const std::string& key, const std::string& value) {
    for (auto& [k, v] : env) {
      if (k == key) {
        v = value;
        return;
      }
    }
    env.emplace_back(key, value);
  }

  fs::path user_plugins() const { return scratch.path / "xdg" / "nanochat" / "plugins"; }
};

// stderr of a failing command is exactly one line.
void expect_one_line_error(const HostResult& r, const std::string& fragment) {
  EXPECT_EQ(count_of(r.err, "\n"), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

TEST_F(HostCli, HelpAndVersion) {
  HostResult help = nanochat({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("run STAGE"), std::string::npos) << help.out;

  HostResult version = nanochat({"--version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("SDK ABI 1." + std::to_string(NANOCHAT_ABI_MINOR)), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("LibTorch 2.11.0 loaded"), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("Gloo in build: yes"), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("GPUs visible: "), std::string::npos) << version.out;
}

TEST_F(HostCli, BadCommandLinesExitWithTwo) {
  HostResult unknown = nanochat({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  expect_one_line_error(unknown, "unknown command 'frobnicate'");

  HostResult bad_flag = nanochat({"--no-such-flag", "plugins", "list"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  expect_one_line_error(bad_flag, "no-such-flag");

  HostResult stage_flag = nanochat({"run", "echo", "--bogus", "1"});
  EXPECT_EQ(stage_flag.exit_code, 2);
  expect_one_line_error(stage_flag, "bogus");

  HostResult no_stage = nanochat({"run", "nosuch"});
  EXPECT_EQ(no_stage.exit_code, 2);
  expect_one_line_error(no_stage, "no stage plugin named 'nosuch'");

  HostResult bad_value = nanochat({"run", "echo", "--count", "many"});
  EXPECT_EQ(bad_value.exit_code, 2);
  expect_one_line_error(bad_value, "count");
}

TEST_F(HostCli, ListShowsEveryRefusalWithItsReason) {
  HostResult list = nanochat({"plugins", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto rows = nlohmann::json::parse(list.out);
  std::map<std::string, std::string> status;
  for (const auto& row : rows) status[row["name"]] = row["status"];
  EXPECT_EQ(status["echo"], "ok");
  EXPECT_NE(status["badmajor"].find("refused: SDK ABI major 99"), std::string::npos) << status["badmajor"];
  EXPECT_NE(status["newminor"].find("refused: needs SDK ABI 1." + std::to_string(NANOCHAT_ABI_MINOR + 1)),
            std::string::npos)
      << status["newminor"];
  EXPECT_NE(status["noentry"].find("refused: not a nanochat plugin"), std::string::npos) << status["noentry"];
  EXPECT_NE(status["throws"].find("refused: factory failed: factory exploded on purpose"), std::string::npos)
      << status["throws"];
  EXPECT_NE(status["oldtorch"].find("refused: built with LibTorch 1.0.0"), std::string::npos) << status["oldtorch"];
  EXPECT_NE(status["oldabi"].find("refused: built with _GLIBCXX_USE_CXX11_ABI"), std::string::npos)
      << status["oldabi"];
  EXPECT_NE(status["oldboost"].find("refused: built with Boost"), std::string::npos) << status["oldboost"];
  EXPECT_NE(status["fnentry"].find("refused: 'nanochat_plugin_entry' is exported as a function"), std::string::npos)
      << status["fnentry"];
  EXPECT_NE(status["newcxx"].find("refused: needs libstdc++ symbol version GLIBCXX_3.4.99"), std::string::npos)
      << status["newcxx"];
  EXPECT_EQ(status["abi10"], "ok") << "a plugin built for ABI 1.0 must keep loading";

  HostResult table = nanochat({"plugins", "list"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("KIND"), std::string::npos);
  EXPECT_NE(table.out.find("echo"), std::string::npos);
}

TEST_F(HostCli, RefusedPluginsNeverRun) {
  for (std::string name : {"badmajor", "newminor", "noentry", "fnentry", "throws", "oldtorch", "oldabi", "oldboost", "newcxx"}) {
    HostResult r = nanochat({"run", name});
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
    expect_one_line_error(r, "refused");
  }
}

TEST_F(HostCli, RunsAStageAndItsHelp) {
  HostResult r = nanochat({"run", "echo", "--message", "hi", "--count", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_of(r.out, "echo: hi\n"), 2) << r.out;
  EXPECT_NE(r.out.find((scratch.path / "base").string()), std::string::npos);

  HostResult help = nanochat({"run", "echo", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--message"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--config"), std::string::npos) << help.out;

  HostResult failing = nanochat({"run", "echo", "--fail"});
  EXPECT_EQ(failing.exit_code, 1);
  expect_one_line_error(failing, "echo stage asked to fail");
}

TEST_F(HostCli, CommandLineOverridesIniFile) {
  fs::path ini = scratch.path / "echo.ini";
  write_text(ini, "# shared defaults\ncount = 3\nunrelated-key = ignored\n[echo]\nmessage = from-ini\n[other]\nmessage = not-mine\n");
  HostResult from_file = nanochat({"run", "echo", "--config", ini.string()});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(count_of(from_file.out, "echo: from-ini\n"), 3) << from_file.out;

  HostResult overridden = nanochat({"run", "echo", "--config", ini.string(), "--message", "from-cli"});
  ASSERT_EQ(overridden.exit_code, 0) << overridden.err;
  EXPECT_EQ(count_of(overridden.out, "echo: from-cli\n"), 3) << overridden.out;

  write_text(ini, "[echo]\nmesage = typo\n");
  HostResult typo = nanochat({"run", "echo", "--config", ini.string()});
  EXPECT_EQ(typo.exit_code, 2);
  expect_one_line_error(typo, "unknown option 'mesage'");

  HostResult missing = nanochat({"run", "echo", "--config", (scratch.path / "absent.ini").string()});
  EXPECT_EQ(missing.exit_code, 2);
  expect_one_line_error(missing, "cannot read config file");
}

TEST_F(HostCli, SearchPathOrderAndDuplicates) {
  fs::path a = scratch.path / "a", b = scratch.path / "b", c = scratch.path / "c";
  for (const auto& dir : {a, b, c}) {
    fs::create_directories(dir);
    fs::copy_file(kPluginDir / "libnanochat-stage-echo.so", dir / "libnanochat-stage-echo.so");
  }
  set_env("NANOCHAT_PLUGIN_PATH", a.string() + ":" + b.string() + ":" + kPluginDir.string());
  HostResult list = nanochat({"--plugin-path", c.string(), "plugins", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<std::pair<std::string, std::string>> echo_rows;
  for (const auto& row : nlohmann::json::parse(list.out)) {
    if (row["name"] == "echo") echo_rows.emplace_back(row["path"], row["status"]);
  }
  ASSERT_EQ(echo_rows.size(), 4u);
  EXPECT_EQ(fs::path(echo_rows[0].first).parent_path(), fs::canonical(c));  // --plugin-path first
  EXPECT_EQ(echo_rows[0].second, "ok");
  EXPECT_EQ(fs::path(echo_rows[1].first).parent_path(), fs::canonical(a));  // then the env, in order
  EXPECT_NE(echo_rows[1].second.find("duplicate: shadowed by"), std::string::npos);
  EXPECT_EQ(fs::path(echo_rows[2].first).parent_path(), fs::canonical(b));
}

TEST_F(HostCli, InfoShowsWhatBindsAPluginToTheHost) {
  HostResult info = nanochat({"plugins", "info", "echo"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("Boost:       1."), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("compiler:    "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("libstdc++:   needs up to "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("GLIBCXX_3.4"), std::string::npos) << info.out;

  HostResult old = nanochat({"plugins", "info", "abi10"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_NE(old.out.find("Boost:       not recorded (ABI 1.0)"), std::string::npos) << old.out;
}

TEST_F(HostCli, InfoListsAnRlAlgorithmsOptions) {
  set_env("NANOCHAT_PLUGIN_PATH", "");  // the build tree's plugins/rl/grpo
  HostResult info = nanochat({"plugins", "info", "rl/grpo"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto has_line = [&](const std::string& pattern) {
    return std::regex_search(info.out, std::regex(pattern, std::regex::multiline));
  };
  EXPECT_NE(info.out.find("interface:   nanochat.rl/1"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Options (--algo-option NAME=VALUE):"), std::string::npos) << info.out;
  EXPECT_TRUE(has_line(R"(^  std-scale +0 +1: divide each group's advantages .*\(a whole number in \[0, 1\]\)$)")) << info.out;
  EXPECT_TRUE(has_line(R"(^  clip-low +0 +the ratio .*\(in \[0, 1\)\)$)")) << info.out;
  EXPECT_TRUE(has_line(R"(^  clip-high +0 +.*\(>= 0\)$)")) << info.out;
  EXPECT_TRUE(has_line(R"(^  kl-estimator +3 +KL per token: .*\(a whole number in \[1, 3\]\)$)")) << info.out;
  EXPECT_TRUE(has_line(R"(^  loss-agg +0 )")) << info.out;
  EXPECT_TRUE(has_line(R"(^  epochs +1 )")) << info.out;
}

// Paths of the rows of `plugins list --json`.
std::vector<std::string> listed_paths(const HostResult& list) {
  std::vector<std::string> paths;
  for (const auto& row : nlohmann::json::parse(list.out)) paths.push_back(row["path"]);
  return paths;
}

TEST_F(HostCli, InstalledHostIgnoresTheBuildTree) {
  const std::string build_plugins = fs::canonical(NANOCHAT_BUILD_PLUGIN_DIR).string();
  set_env("NANOCHAT_PLUGIN_PATH", "");
  auto from_build = listed_paths(nanochat({"plugins", "list", "--json"}));
  EXPECT_NE(std::find(from_build.begin(), from_build.end(), build_plugins + "/libnanochat-stage-artifacts.so"),
            from_build.end())
      << "the build tree's own binary searches the build tree";

  // The same binary in a prefix outside the build tree (its build RPATH still finds the SDK
  // library), with the prefix's own plugin folder.
  fs::path prefix = scratch.path / "prefix";
  fs::create_directories(prefix / "bin");
  fs::create_directories(prefix / NANOCHAT_PLUGIN_SUBDIR);
  fs::copy_file(NANOCHAT_TEST_HOST, prefix / "bin" / "nanochat");
  fs::copy_file(kPluginDir / "libnanochat-stage-echo.so", prefix / NANOCHAT_PLUGIN_SUBDIR / "libnanochat-stage-echo.so");
  HostResult list = nanochat::test::run_host((prefix / "bin" / "nanochat").string(), {"plugins", "list", "--json"}, env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto paths = listed_paths(list);
  EXPECT_EQ(paths, std::vector<std::string>{(fs::canonical(prefix / NANOCHAT_PLUGIN_SUBDIR) / "libnanochat-stage-echo.so").string()})
      << "only the prefix's own plugins: " << list.out;
}

TEST_F(HostCli, NoHomeMeansNoRelativePluginFolder) {
  // Where "$HOME/.local/share/nanochat/plugins" would point with HOME unset and taken as ".".
  fs::path cwd = scratch.path / "cwd";
  fs::path relative_user_dir = cwd / ".local" / "share" / "nanochat" / "plugins";
  fs::create_directories(relative_user_dir);
  fs::copy_file(kPluginDir / "libnanochat-stage-echo.so", relative_user_dir / "libnanochat-stage-echo.so");
  set_env("NANOCHAT_PLUGIN_PATH", "");
  HostResult list = nanochat::test::run_host(
      "/usr/bin/env", {"-u", "HOME", "-u", "XDG_DATA_HOME", "-C", cwd.string(), NANOCHAT_TEST_HOST, "plugins", "list", "--json"},
      env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const auto& path : listed_paths(list)) {
    EXPECT_EQ(path.find(cwd.string()), std::string::npos) << "searched a folder relative to the working folder: " << path;
  }
}

TEST_F(HostCli, ChainNamesThatWouldLeaveTheRunFolderAreRefused) {
  fs::path chain = scratch.path / "chain.ini";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[chain]\nname = demo\nstages = first ../escape\n[first]\nstage = echo\n", "step label '../escape'"},
      {"[chain]\nname = demo\nstages = a/b\n", "step label 'a/b'"},
      {"[chain]\nname = demo\nstages = ..\n", "step label '..'"},
      {"[chain]\nname = ../../outside\nstages = first\n[first]\nstage = echo\n", "chain name '../../outside'"},
      {"[chain]\nname = /tmp/abs\nstages = first\n[first]\nstage = echo\n", "chain name '/tmp/abs'"},
  };
  for (const auto& [text, fragment] : bad) {
    write_text(chain, text);
    HostResult r = nanochat({"chain", chain.string()});
    EXPECT_EQ(r.exit_code, 2) << text << r.err;
    expect_one_line_error(r, fragment);
    EXPECT_NE(r.err.find("must be a plain name"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("echo:"), std::string::npos) << "a step ran: " << r.out;
  }
  EXPECT_FALSE(fs::exists(scratch.path / "base" / "runs" / "escape.done"));
  EXPECT_FALSE(fs::exists(scratch.path / "outside"));
}

TEST_F(HostCli, ArtifactsListsWhenAFileReallyChanged) {
  fs::path file = scratch.path / "base" / "tokenizer" / "tokenizer.bin";
  fs::create_directories(file.parent_path());
  write_text(file, "tokens");
  // 2021-06-15 12:00:30 UTC; read back in UTC.
  std::tm when{};
  when.tm_year = 2021 - 1900;
  when.tm_mon = 5;
  when.tm_mday = 15;
  when.tm_hour = 12;
  when.tm_sec = 30;
  const timespec times[2] = {{timegm(&when), 0}, {timegm(&when), 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  set_env("TZ", "UTC");
  HostResult r = nanochat({"run", "artifacts"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("last changed 2021-06-15 12:00"), std::string::npos) << r.out;

  // A file written now shows today (UTC), not a date in another century.
  write_text(scratch.path / "base" / "tokenizer" / "fresh.txt", "new");
  std::time_t now = std::time(nullptr);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", std::gmtime(&now));
  HostResult fresh = nanochat({"run", "artifacts"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_NE(fresh.out.find(std::string("last changed ") + today), std::string::npos) << fresh.out;
}

TEST_F(HostCli, ChainStopsAtFailureAndResumes) {
  fs::path chain = scratch.path / "chain.ini";
  write_text(chain,
             "[chain]\nname = demo\nstages = first second\n"
             "[first]\nstage = echo\nmessage = one\n"
             "[second]\nstage = echo\nfail = true\n");
  HostResult failed = nanochat({"chain", chain.string()});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("step 2/2 'second' (stage echo) failed"), std::string::npos) << failed.err;
  fs::path runs = scratch.path / "base" / "runs" / "demo";
  EXPECT_TRUE(fs::exists(runs / "first.done"));
  EXPECT_FALSE(fs::exists(runs / "second.done"));

  write_text(chain,
             "[chain]\nname = demo\nstages = first second\n"
             "[first]\nstage = echo\nmessage = one\n"
             "[second]\nstage = echo\nmessage = two\n");
  HostResult resumed = nanochat({"chain", chain.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(resumed.out.find("echo: one"), std::string::npos) << "first step ran again";
  EXPECT_NE(resumed.out.find("echo: two"), std::string::npos);
  EXPECT_NE(resumed.err.find("already done"), std::string::npos);

  HostResult restarted = nanochat({"chain", chain.string(), "--restart"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_NE(restarted.out.find("echo: one"), std::string::npos);

  HostResult no_file = nanochat({"chain", (scratch.path / "none.ini").string()});
  EXPECT_EQ(no_file.exit_code, 2);
}

TEST_F(HostCli, ChainStepsBySmokeFromAndOnly) {
  fs::path chain = scratch.path / "chain.ini";
  write_text(chain,
             "[chain]\nname = demo\nstages = first second third\n"
             "[first]\nstage = echo\nmessage = one\nminutes = 2\n"
             "[first.smoke]\nmessage = small-one\n"
             "[second]\nstage = echo\nmessage = two\n"
             "[third]\nstage = echo\nmessage = three\n");
  HostResult smoke = nanochat({"chain", chain.string(), "--smoke"});
  ASSERT_EQ(smoke.exit_code, 0) << smoke.err;
  EXPECT_NE(smoke.out.find("echo: small-one"), std::string::npos) << smoke.out;  // [first.smoke] wins
  EXPECT_NE(smoke.out.find("echo: two"), std::string::npos) << smoke.out;        // no smoke section: as written
  EXPECT_NE(smoke.err.find("step 1/3 first (stage echo) | elapsed 0m | ETA 2m by the budgets"), std::string::npos)
      << smoke.err;

  HostResult only = nanochat({"chain", chain.string(), "--restart", "--only", "second"});
  ASSERT_EQ(only.exit_code, 0) << only.err;
  EXPECT_EQ(only.out.find("echo: one"), std::string::npos) << only.out;
  EXPECT_NE(only.out.find("echo: two"), std::string::npos) << only.out;
  EXPECT_EQ(only.out.find("echo: three"), std::string::npos) << only.out;

  HostResult from = nanochat({"chain", chain.string(), "--restart", "--from", "second"});
  ASSERT_EQ(from.exit_code, 0) << from.err;
  EXPECT_EQ(from.out.find("echo: one"), std::string::npos) << from.out;
  EXPECT_NE(from.out.find("echo: three"), std::string::npos) << from.out;

  HostResult unknown = nanochat({"chain", chain.string(), "--only", "fourth"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no step 'fourth' (its steps: first, second, third)"), std::string::npos) << unknown.err;
  write_text(chain, "[chain]\nname = demo\nstages = a.b\n");
  HostResult dotted = nanochat({"chain", chain.string()});
  EXPECT_EQ(dotted.exit_code, 2);
  EXPECT_NE(dotted.err.find("step label 'a.b'"), std::string::npos) << dotted.err;
}

TEST_F(HostCli, DryRunOfTheD20PresetMatchesNanochat) {
  // SPEC §3/§5: d20 has 560,988,160 parameters and trains 21,400 steps of 524,288 tokens
  // (11.2B tokens, 20 per parameter) with no gradient accumulation on 8 GPUs.
  HostResult plan = nanochat({"speedrun", "--dry-run", "--gpus", "8xH100"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("planned for 8xH100"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("560,988,160 parameters"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("21,400 steps x 524,288 tokens = 11.22B tokens (20.0 per parameter), 1 accumulation"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("launch --nproc 8 -- run pretrain"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("--depth=20"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("$3/GPU-hour"), std::string::npos) << plan.out;
  EXPECT_FALSE(fs::exists(scratch.path / "base" / "runs")) << "a dry run wrote its run folder";

  HostResult bad = nanochat({"speedrun", "--dry-run", "--gpus", "eight H100"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("expected COUNTxNAME"), std::string::npos) << bad.err;
}

TEST_F(HostCli, InstallAndRemovePlugins) {
  HostResult installed = nanochat({"plugins", "install", (kPluginDir / "libnanochat-stage-echo.so").string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  EXPECT_TRUE(fs::exists(user_plugins() / "libnanochat-stage-echo.so"));

  HostResult info = nanochat({"plugins", "info", "echo"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find((user_plugins() / "libnanochat-stage-echo.so").string()), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("--message"), std::string::npos) << info.out;

  HostResult refused = nanochat({"plugins", "install", (kPluginDir / "libnanochat-stage-badmajor.so").string()});
  EXPECT_EQ(refused.exit_code, 2);
  expect_one_line_error(refused, "nothing was installed");
  EXPECT_FALSE(fs::exists(user_plugins() / "libnanochat-stage-badmajor.so"));

  HostResult removed = nanochat({"plugins", "remove", "echo"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_FALSE(fs::exists(user_plugins() / "libnanochat-stage-echo.so"));

  HostResult not_user = nanochat({"plugins", "remove", "echo"});  // still in the test folder
  EXPECT_EQ(not_user.exit_code, 1);
  expect_one_line_error(not_user, "outside the user plugin folder");
}

TEST_F(HostCli, InstallsPackagesAllOrNothing) {
  fs::path package = scratch.path / "pkg";
  fs::create_directories(package);
  fs::copy_file(kPluginDir / "libnanochat-stage-echo.so", package / "libnanochat-stage-echo.so");
  write_text(package / "manifest.json",
             R"({"name": "echo", "kind": "stage", "version": "1.0.0", "library": "libnanochat-stage-echo.so"})");
  fs::path tarball = scratch.path / "echo.tar.gz";
  ASSERT_EQ(nanochat::run_process({"tar", "-czf", tarball.string(), "-C", package.string(), "."}), 0);
  HostResult installed = nanochat({"plugins", "install", tarball.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  EXPECT_TRUE(fs::exists(user_plugins() / "libnanochat-stage-echo.so"));

  // A manifest that lies about the version installs nothing.
  fs::remove(user_plugins() / "libnanochat-stage-echo.so");
  write_text(package / "manifest.json",
             R"({"name": "echo", "kind": "stage", "version": "9.9.9", "library": "libnanochat-stage-echo.so"})");
  HostResult lying = nanochat({"plugins", "install", package.string()});
  EXPECT_EQ(lying.exit_code, 2);
  expect_one_line_error(lying, "manifest says version");
  EXPECT_FALSE(fs::exists(user_plugins() / "libnanochat-stage-echo.so"));

  write_text(package / "manifest.json", "{not json");
  HostResult malformed = nanochat({"plugins", "install", package.string()});
  EXPECT_EQ(malformed.exit_code, 1);
  expect_one_line_error(malformed, "not valid JSON");
}

TEST_F(HostCli, LaunchStartsRanksAndStopsThemAllWhenOneFails) {
  HostResult ok = nanochat({"launch", "--nproc", "2", "--master-port", "29611", "--", "run", "echo", "--message", "hi"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(count_of(ok.out, "echo: hi\n"), 2) << ok.out;
  EXPECT_NE(ok.out.find("rank 0 of 2"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("rank 1 of 2"), std::string::npos) << ok.out;

  auto start = std::chrono::steady_clock::now();
  HostResult failed = nanochat({"launch", "--nproc", "2", "--", "run", "echo", "--fail-rank", "1", "--sleep", "60"});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_LT(seconds, 30) << "the surviving rank was not stopped";
  EXPECT_NE(failed.err.find("local rank 1 exited with code 1"), std::string::npos) << failed.err;

  HostResult usage = nanochat({"launch", "--nproc", "2"});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace

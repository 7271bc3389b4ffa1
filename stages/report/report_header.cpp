// The header (see report_header.hpp), in report.py's shape with this program's software.
#include "report_header.hpp"

#include <boost/version.hpp>
#include <fmt/format.h>

#include <set>
#include <sstream>

#include "nanochat/build_config.hpp"
#include "nanochat/plugin.hpp"  // NANOCHAT_COMPILER_TEXT
#include "nanochat/report.hpp"
#include "report_sections.hpp"

namespace nanochat::report {
namespace {

std::string count(int64_t value) { return format_report_value(value); }

std::string hardware_lines(const Hardware& h) {
  std::string out = fmt::format("### Hardware\n- Platform: {}\n- CPUs: {} cores ({} logical), {}\n- Memory: {:.1f} GB\n",
                                h.platform, h.physical_cores, h.logical_cpus, h.cpu_model, h.memory_gb);
  if (h.gpus.empty()) return out + "- GPUs: None available\n";
  std::set<std::string> names;
  double memory = 0;
  for (const Gpu& gpu : h.gpus) {
    names.insert(gpu.name);
    memory += gpu.memory_gb;
  }
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return out + fmt::format("- GPUs: {}x {}\n- GPU Memory: {:.1f} GB total\n- GPU Driver: {}\n- Hourly Rate: ${:.2f}/hour\n",
                           h.gpus.size(), joined, memory, h.gpu_driver, hourly_rate(h.gpus));
}

std::string boost_version() {
  std::string version = BOOST_LIB_VERSION;  // "1_74"
  for (char& c : version) {
    if (c == '_') c = '.';
  }
  return version;
}

}  // namespace

std::string header_markdown(const HeaderInputs& in) {
  std::string out = "# nanochat training report\n\nGenerated: " + format_report_time(in.generated) + "\n\n## Environment\n\n";
  out += fmt::format("### Git Information\n- Branch: {}\n- Commit: {}{}\n- Message: {}\n\n", in.git.branch, in.git.commit,
                     in.git.commit == "unknown" ? "" : in.git.dirty ? " (dirty)" : " (clean)", in.git.message);
  out += hardware_lines(in.hardware) + "\n";
  out += fmt::format("### Software\n- nanochat-cpp: {}\n- LibTorch: {} (built with)\n- Compiler: {}\n- Boost: {}\n\n",
                     NANOCHAT_VERSION, NANOCHAT_TORCH_VERSION, NANOCHAT_COMPILER_TEXT, boost_version());
  out += "### Bloat\n";
  if (in.code_size) {
    const CodeSize& s = *in.code_size;
    out += fmt::format("- Characters: {}\n- Lines: {}\n- Files: {}\n- Tokens (approx): {}\n", count(s.characters), count(s.lines),
                       count(s.files), count(s.tokens()));
  } else {
    out += "- Source tree: unknown (" + in.source_dir + " is not a folder; point --source-dir at a checkout)\n";
  }
  return out + "\n";
}

HeaderFacts parse_header(const std::string& markdown) {
  HeaderFacts facts;
  facts.run_started = find_report_time(markdown, "Run started:");
  const std::string rate = find_report_item(markdown, "Hourly Rate");  // "$24.00/hour"
  if (rate.size() > 1 && rate[0] == '$') {
    try {
      facts.hourly_rate = std::stod(rate.substr(1));
    } catch (const std::exception&) {
      facts.hourly_rate.reset();  // edited by hand into something else: no cost estimate
    }
  }
  std::istringstream lines(markdown);
  bool in_bloat = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == "### Bloat") {
      in_bloat = true;
    } else if (in_bloat && line.empty()) {
      break;
    } else if (in_bloat) {
      facts.bloat += line + "\n";
    }
  }
  return facts;
}

}  // namespace nanochat::report

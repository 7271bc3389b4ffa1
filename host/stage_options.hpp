// Turning a stage's command line and INI file into option values. The command line wins
// over the file; the file's top-level keys are defaults shared by every stage (keys a
// stage does not declare are ignored there), its [SECTION] keys belong to one stage (an
// unknown key there is an error).
#pragma once

#include <boost/program_options.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace nanochat::host {

struct StageCommandLine {
  boost::program_options::variables_map values;
  bool help = false;
};

// The options every `run STAGE` accepts besides the stage's own.
boost::program_options::options_description common_run_options();

// Parses `args` against `stage_options` + common_run_options(); reads --config (the sections
// named by `--config-section`, the first winning, else `section`) beneath the command line.
// Throws UsageError.
StageCommandLine parse_stage_command_line(const boost::program_options::options_description& stage_options,
                                          const std::vector<std::string>& args,
                                          const std::string& section);

using IniEntries = std::vector<std::pair<std::string, std::string>>;

// One INI file's key/values for `sections`, in file order: one group per section, then the
// top-level entries (`known` deciding which apply), the order in which they take effect
// (the first set wins). Keys of [section.sub] belong to that subsection only. Throws
// UsageError naming the file for a malformed file or an unknown key in a wanted section.
std::vector<IniEntries> read_ini_sections(const std::filesystem::path& file,
                                          const std::vector<std::string>& sections,
                                          const boost::program_options::options_description& known);

}  // namespace nanochat::host

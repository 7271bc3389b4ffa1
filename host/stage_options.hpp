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

// Parses `args` against `stage_options` + common_run_options(); reads --config (section
// `--config-section`, else `section`) beneath the command line. Throws UsageError.
StageCommandLine parse_stage_command_line(const boost::program_options::options_description& stage_options,
                                          const std::vector<std::string>& args,
                                          const std::string& section);

// One INI file's key/values for `section`: top-level entries then [section] entries, in
// file order, with `known` deciding which top-level keys apply. Throws UsageError naming
// the file for a malformed file or an unknown [section] key.
std::vector<std::pair<std::string, std::string>> read_ini_section(
    const std::filesystem::path& file, const std::string& section,
    const boost::program_options::options_description& known);

}  // namespace nanochat::host

// INI + command-line option parsing for stages (see stage_options.hpp for the rules).
#include "stage_options.hpp"

#include <fstream>

#include "nanochat/error.hpp"

namespace po = boost::program_options;

namespace nanochat::host {
namespace {

const std::vector<std::string> kReservedKeys = {"stage", "nproc", "minutes"};  // read by the chain (chain_file.hpp)

bool is_reserved(const std::string& key) {
  return std::find(kReservedKeys.begin(), kReservedKeys.end(), key) != kReservedKeys.end();
}

bool is_true(const std::string& value) {
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

// "--key=value", or "--key" / nothing for a switch, as the command line would say it.
void append_as_argument(const po::options_description& options, const std::string& key,
                        const std::string& value, std::vector<std::string>& out) {
  const po::option_description* option = options.find_nothrow(key, false);
  if (option != nullptr && option->semantic()->max_tokens() == 0) {
    if (is_true(value)) out.push_back("--" + key);
    return;
  }
  out.push_back("--" + key + "=" + value);
}

}  // namespace

po::options_description common_run_options() {
  po::options_description common("Common options");
  common.add_options()("help,h", "list this stage's options and exit")(
      "config", po::value<std::string>(), "INI file with option values (the command line wins)")(
      "config-section", po::value<std::vector<std::string>>()->composing(),
      "INI section to read (default: the stage name); given several times, the first wins");
  return common;
}

std::vector<IniEntries> read_ini_sections(const std::filesystem::path& file, const std::vector<std::string>& sections,
                                          const po::options_description& known) {
  std::ifstream in(file);
  if (!in) throw UsageError("cannot read config file " + file.string());
  po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, true);
  } catch (const po::error& e) {
    throw UsageError(file.string() + ": " + e.what());
  }
  std::vector<IniEntries> groups(sections.size() + 1);  // the sections, then the top level
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    std::string value = option.value.empty() ? "" : option.value.front();
    if (key.find('.') == std::string::npos) {
      if (known.find_nothrow(key, false) != nullptr) groups.back().emplace_back(key, value);
      continue;
    }
    for (size_t i = 0; i < sections.size(); ++i) {
      const std::string prefix = sections[i] + ".";
      if (key.rfind(prefix, 0) != 0) continue;
      std::string name = key.substr(prefix.size());
      if (is_reserved(name) || name.find('.') != std::string::npos) continue;  // [section.sub] is another section
      if (known.find_nothrow(name, false) == nullptr) {
        throw UsageError(file.string() + ": [" + sections[i] + "] has unknown option '" + name +
                         "' (see `nanochat run STAGE --help`)");
      }
      groups[i].emplace_back(name, value);
    }
  }
  return groups;
}

StageCommandLine parse_stage_command_line(const po::options_description& stage_options,
                                          const std::vector<std::string>& args,
                                          const std::string& section) {
  po::options_description all;
  all.add(stage_options).add(common_run_options());
  StageCommandLine result;
  try {
    po::positional_options_description no_positionals;  // a stray word is an error, not ignored
    po::store(po::command_line_parser(args).options(all).positional(no_positionals).run(), result.values);
    result.help = result.values.count("help") > 0;
    if (result.help) return result;
    if (result.values.count("config")) {
      std::filesystem::path file = result.values["config"].as<std::string>();
      const std::vector<std::string> sections = result.values.count("config-section")
                                                    ? result.values["config-section"].as<std::vector<std::string>>()
                                                    : std::vector<std::string>{section};
      for (const IniEntries& group : read_ini_sections(file, sections, stage_options)) {  // the first set wins
        std::vector<std::string> file_args;
        for (const auto& [key, value] : group) {
          append_as_argument(stage_options, key, value, file_args);
        }
        try {
          po::store(po::command_line_parser(file_args).options(stage_options).run(), result.values);
        } catch (const po::error& e) {
          throw UsageError(file.string() + ": " + e.what());
        }
      }
    }
    po::notify(result.values);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see `nanochat run " + section + " --help`)");
  }
  return result;
}

}  // namespace nanochat::host

// Numeric options that a plugin declares (name, default, one-line help, valid range) and
// the grammar users set them with: `PLUGIN.KEY=VALUE` (--optimizer-option muon.ns-steps=6)
// or `KEY=VALUE` for a flag that names one plugin already (--algo-option clip-eps=0.2).
// Torch-free, so the host can list a plugin's options and every stage can parse them.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <vector>

namespace nanochat {

struct OptionSpec {
  std::string name;  // kebab-case: "ns-steps"
  double default_value = 0.0;
  std::string help;  // one line
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool max_exclusive = false;  // [min, max) rather than [min, max]
  bool whole = false;          // counts and switches: whole numbers only

  // What a valid value is: "in [0, 1)", "a whole number in [1, 100]", ">= 0", "any number".
  std::string range_text() const;
};
using OptionSpecs = std::vector<OptionSpec>;

// Values by option name.
using OptionValues = std::map<std::string, double>;
// Values by plugin name, then option name: what --optimizer-option collects.
using PluginOptionValues = std::map<std::string, OptionValues>;

// What a plugin of an option-declaring interface answers. Such an interface has this class
// as its first and only base, so a pointer to the interface is a pointer to this class:
// the torch-free host uses that to list the options of a plugin whose interface needs
// LibTorch (see PluginLibrary::create_as).
class OptionDeclaring {
 public:
  virtual ~OptionDeclaring() = default;
  // Every option the plugin accepts, in the order to list them.
  virtual OptionSpecs describe_options() const = 0;
};

// A value as options show it: up to 10 significant digits ("0.2", "1e-10", "300").
std::string format_option_value(double value);

// Throws UsageError "<owner>: <name> must be ..., got <value>" when `value` is outside the range.
void check_option_value(const std::string& owner, const OptionSpec& spec, double value);

// The declared defaults overridden by `given`. Throws UsageError for a name `specs` does not
// declare (listing the names it does) or a value out of range. `owner` names the plugin.
OptionValues resolve_options(const std::string& owner, const OptionSpecs& specs, const OptionValues& given);

// One `PLUGIN.KEY=VALUE` (or `KEY=VALUE`) assignment.
struct PluginOption {
  std::string plugin;  // "" for KEY=VALUE
  std::string key;
  double value = 0.0;
};

// Parses "muon.ns-steps=6". Throws UsageError naming `flag` and quoting `text` when the '='
// or the plugin is missing, the key is not kebab-case, or the value is not a finite number.
PluginOption parse_plugin_option(const std::string& flag, const std::string& text);
// Parses "clip-eps=0.2" for a flag that already names its plugin; the same errors.
PluginOption parse_option_assignment(const std::string& flag, const std::string& text);

// Every assignment of `texts` (in order, so a later one wins) by plugin and key.
PluginOptionValues parse_plugin_options(const std::string& flag, const std::vector<std::string>& texts);

// Checks `given` against what the plugins in use declare: a plugin not in `declared`, a key
// it does not declare or a value out of range throws UsageError naming `flag` and listing
// the plugins in use or the keys the plugin knows.
void check_plugin_options(const std::string& flag, const PluginOptionValues& given,
                          const std::map<std::string, OptionSpecs>& declared);

}  // namespace nanochat

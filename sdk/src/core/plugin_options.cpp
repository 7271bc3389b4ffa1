// Plugin options: ranges, defaults, and the PLUGIN.KEY=VALUE grammar (plugin_options.hpp).
#include "nanochat/plugin_options.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <regex>
#include <sstream>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

std::string names_of(const OptionSpecs& specs) {
  std::string names;
  for (const OptionSpec& spec : specs) names += (names.empty() ? "" : ", ") + spec.name;
  return names.empty() ? "none" : names;
}

const OptionSpec* find_spec(const OptionSpecs& specs, const std::string& name) {
  for (const OptionSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool is_kebab_case(const std::string& key) {
  static const std::regex kebab("^[a-z0-9]+(-[a-z0-9]+)*$");
  return std::regex_match(key, kebab);
}

// `text` as a finite number, or UsageError quoting where it came from.
double parse_number(const std::string& where, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size() || errno == ERANGE || !std::isfinite(value)) {
    throw UsageError(where + ": '" + text + "' is not a number");
  }
  return value;
}

// KEY=VALUE, the key checked for kebab case; `where` prefixes every error.
PluginOption parse_key_value(const std::string& where, const std::string& text) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos) throw UsageError(where + ": expected KEY=VALUE, found no '='");
  PluginOption option;
  option.key = text.substr(0, equals);
  if (!is_kebab_case(option.key)) {
    std::string hint = option.key;
    for (char& c : hint) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    throw UsageError(where + ": option names are kebab-case, like '" + hint + "'");
  }
  option.value = parse_number(where, text.substr(equals + 1));
  return option;
}

std::string quoted(const std::string& flag, const std::string& text) { return flag + " " + text; }

}  // namespace

std::string format_option_value(double value) {
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}

std::string OptionSpec::range_text() const {
  const bool bounded_below = std::isfinite(min), bounded_above = std::isfinite(max);
  std::string range;
  if (bounded_below && bounded_above) {
    range = "in [" + format_option_value(min) + ", " + format_option_value(max) + (max_exclusive ? ")" : "]");
  } else if (bounded_below) {
    range = ">= " + format_option_value(min);
  } else if (bounded_above) {
    range = (max_exclusive ? "< " : "<= ") + format_option_value(max);
  }
  if (whole) return range.empty() ? "a whole number" : "a whole number " + range;
  return range.empty() ? "any number" : range;
}

void check_option_value(const std::string& owner, const OptionSpec& spec, double value) {
  const bool in_range = value >= spec.min && (spec.max_exclusive ? value < spec.max : value <= spec.max);
  if (!in_range || (spec.whole && value != std::floor(value))) {
    throw UsageError(owner + ": " + spec.name + " must be " + spec.range_text() + ", got " + format_option_value(value));
  }
}

OptionValues resolve_options(const std::string& owner, const OptionSpecs& specs, const OptionValues& given) {
  OptionValues values;
  for (const OptionSpec& spec : specs) values[spec.name] = spec.default_value;
  for (const auto& [name, value] : given) {
    const OptionSpec* spec = find_spec(specs, name);
    if (spec == nullptr) throw UsageError(owner + " has no option '" + name + "' (it has: " + names_of(specs) + ")");
    check_option_value(owner, *spec, value);
    values[name] = value;
  }
  return values;
}

PluginOption parse_plugin_option(const std::string& flag, const std::string& text) {
  const std::string where = quoted(flag, text);
  const size_t equals = text.find('=');
  const size_t dot = text.find('.');
  if (dot == std::string::npos || (equals != std::string::npos && dot > equals) || dot == 0) {
    throw UsageError(where + ": expected PLUGIN.KEY=VALUE, like muon.ns-steps=6");
  }
  PluginOption option = parse_key_value(where, text.substr(dot + 1));
  option.plugin = text.substr(0, dot);
  return option;
}

PluginOption parse_option_assignment(const std::string& flag, const std::string& text) {
  return parse_key_value(quoted(flag, text), text);
}

PluginOptionValues parse_plugin_options(const std::string& flag, const std::vector<std::string>& texts) {
  PluginOptionValues values;
  for (const std::string& text : texts) {
    PluginOption option = parse_plugin_option(flag, text);
    values[option.plugin][option.key] = option.value;
  }
  return values;
}

void check_plugin_options(const std::string& flag, const PluginOptionValues& given,
                          const std::map<std::string, OptionSpecs>& declared) {
  for (const auto& [plugin, values] : given) {
    auto it = declared.find(plugin);
    if (it == declared.end()) {
      std::string in_use;
      for (const auto& entry : declared) in_use += (in_use.empty() ? "" : ", ") + entry.first;
      throw UsageError(flag + " " + plugin + ".*: '" + plugin + "' is not a plugin in use here (in use: " + in_use + ")");
    }
    for (const auto& [key, value] : values) {
      const std::string where = flag + " " + plugin + "." + key + "=" + format_option_value(value);
      const OptionSpec* spec = find_spec(it->second, key);
      if (spec == nullptr) {
        throw UsageError(where + ": " + plugin + " has no option '" + key + "' (it has: " + names_of(it->second) + ")");
      }
      check_option_value(where + ": " + plugin, *spec, value);
    }
  }
}

}  // namespace nanochat

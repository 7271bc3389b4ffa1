// `nanochat plugins list|info|install|remove`.
#include <boost/program_options.hpp>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "nanochat/error.hpp"
#include "nanochat/optimizer_options.hpp"
#include "nanochat/plugin_options.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/rl_options.hpp"
#include "nanochat/stage.hpp"
#include "plugin_install.hpp"
#include "plugin_status.hpp"

namespace po = boost::program_options;

namespace nanochat::host {
namespace {

std::string abi_text(const PluginStatus& status) {
  if (!status.info) return "-";
  return std::to_string(status.info->abi_major) + "." + std::to_string(status.info->abi_minor);
}

std::string libstdcxx_text(const std::vector<std::string>& needs) {
  if (needs.empty()) return "needs no versioned symbols";
  std::string text = "needs up to";
  for (size_t i = 0; i < needs.size(); ++i) text += (i ? ", " : " ") + needs[i];
  return text;
}

std::string status_text(const PluginStatus& status) {
  return status.ok() ? "ok" : "refused: " + status.refusal;
}

nlohmann::json status_json(const PluginEntry& entry, const PluginStatus& status,
                           const std::string& text) {
  nlohmann::json row = {{"kind", plugin_kind_name(entry.kind)}, {"name", entry.name},
                        {"path", entry.path.string()},          {"status", text},
                        {"ok", status.ok() && text == "ok"}};
  if (status.info) {
    row["version"] = status.info->version;
    row["abi"] = abi_text(status);
    row["description"] = status.info->description;
    row["torch_version"] = status.info->torch_version;
    row["interface"] = status.info->interface_id;
    row["boost_version"] = status.info->boost_version ? boost_version_text(status.info->boost_version) : "";
    row["compiler"] = status.info->compiler;
    row["libstdcxx_needs"] = status.info->libstdcxx_needs;
  }
  return row;
}

int list_plugins(const Args& args) {
  bool json = false;
  for (const auto& arg : args) {
    if (arg == "--json") json = true;
    else throw UsageError("unknown argument '" + arg + "' for `nanochat plugins list` (only --json)");
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& entry : PluginRegistry::instance().scan()) {
    PluginStatus status = check_plugin_file(entry.path);
    rows.push_back(status_json(entry, status, status_text(status)));
    for (const auto& shadow : entry.shadowed) {
      PluginStatus shadowed = check_plugin_file(shadow);
      PluginEntry shadow_entry{entry.kind, entry.name, shadow, {}};
      rows.push_back(status_json(shadow_entry, shadowed, "duplicate: shadowed by " + entry.path.string()));
    }
  }
  if (json) {
    std::cout << rows.dump(2) << "\n";
    return 0;
  }
  std::cout << std::left << std::setw(10) << "KIND" << std::setw(16) << "NAME" << std::setw(10)
            << "VERSION" << std::setw(6) << "ABI" << "PATH  STATUS\n";
  for (const auto& row : rows) {
    std::cout << std::left << std::setw(10) << row["kind"].get<std::string>() << std::setw(16)
              << row["name"].get<std::string>() << std::setw(10) << row.value("version", "-")
              << std::setw(6) << row.value("abi", "-") << row["path"].get<std::string>() << "  "
              << row["status"].get<std::string>() << "\n";
  }
  if (rows.empty()) {
    std::cout << "(no plugins found; searched:";
    for (const auto& dir : PluginRegistry::instance().search_dirs()) std::cout << " " << dir.string();
    std::cout << ")\n";
  }
  return 0;
}

// One row per option: name, default, valid values, help.
void print_option_specs(const OptionSpecs& specs, const std::string& how_to_set) {
  std::cout << "\nOptions (" << how_to_set << "):\n";
  for (const OptionSpec& spec : specs) {
    std::cout << "  " << std::left << std::setw(24) << spec.name << std::setw(10) << format_option_value(spec.default_value) << spec.help
              << " (" << spec.range_text() << ")\n";
  }
}

// How a user sets the options of a plugin whose interface declares them ("" for others).
std::string option_flag_text(const PluginInfo& info) {
  if (info.interface_id == kOptimizerInterfaceId) return std::string(kOptimizerOptionFlag) + " " + info.name + ".NAME=VALUE";
  if (info.interface_id == kRlInterfaceId) return std::string(kAlgoOptionFlag) + " NAME=VALUE";
  return "";
}

// NAME or KIND/NAME → the one entry it means.
PluginEntry find_entry(const std::string& spec) {
  std::string kind_filter, name = spec;
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    kind_filter = spec.substr(0, slash);
    name = spec.substr(slash + 1);
  }
  std::vector<PluginEntry> matches;
  for (const auto& entry : PluginRegistry::instance().scan()) {
    if (entry.name == name && (kind_filter.empty() || kind_filter == plugin_kind_name(entry.kind))) {
      matches.push_back(entry);
    }
  }
  if (matches.empty()) throw UsageError("no plugin named '" + spec + "' (see `nanochat plugins list`)");
  if (matches.size() > 1) {
    std::string kinds;
    for (const auto& m : matches) kinds += std::string(" ") + plugin_kind_name(m.kind) + "/" + name;
    throw UsageError("'" + spec + "' is ambiguous, say which:" + kinds);
  }
  return matches.front();
}

int plugin_info(const Args& args) {
  if (args.size() != 1) throw UsageError("usage: nanochat plugins info NAME|KIND/NAME");
  PluginEntry entry = find_entry(args[0]);
  PluginStatus status = check_plugin_file(entry.path);
  std::cout << "path:        " << entry.path.string() << "\n"
            << "status:      " << status_text(status) << "\n";
  for (const auto& shadow : entry.shadowed) std::cout << "shadows:     " << shadow.string() << "\n";
  if (!status.info) return status.ok() ? 0 : 1;
  const PluginInfo& info = *status.info;
  std::cout << "kind:        " << plugin_kind_name(info.kind) << "\n"
            << "name:        " << info.name << "\n"
            << "version:     " << info.version << "\n"
            << "description: " << info.description << "\n"
            << "ABI:         " << abi_text(status) << "\n"
            << "interface:   " << info.interface_id << "\n"
            << "LibTorch:    " << (info.torch_version.empty() ? "not used" : info.torch_version) << "\n"
            << "Boost:       " << (info.boost_version ? boost_version_text(info.boost_version) : "not recorded (ABI 1.0)") << "\n"
            << "compiler:    " << (info.compiler.empty() ? "not recorded (ABI 1.0)" : info.compiler) << "\n"
            << "libstdc++:   " << libstdcxx_text(info.libstdcxx_needs) << "\n";
  if (status.ok() && info.kind == PluginKind::stage) {
    po::options_description options("Options");
    status.library->create<Stage>()->declare_options(options);
    std::cout << "\n" << options;
  }
  const std::string how_to_set = option_flag_text(info);
  if (status.ok() && !how_to_set.empty()) {
    // Loads LibTorch (through the plugin), as only listing an optimizer's or algorithm's options needs it.
    auto plugin = status.library->create_as<OptionDeclaring>(info.interface_id.c_str());
    print_option_specs(plugin->describe_options(), how_to_set);
  }
  return status.ok() ? 0 : 1;
}

}  // namespace

int plugins_command(const Args& args) {
  const char* usage = "usage: nanochat plugins list [--json] | info NAME | install PATH | remove NAME";
  if (args.empty()) throw UsageError(usage);
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "list") return list_plugins(rest);
  if (args[0] == "info") return plugin_info(rest);
  if (args[0] == "install") return install_plugins(rest);
  if (args[0] == "remove") return remove_plugin(rest);
  throw UsageError("unknown plugins subcommand '" + args[0] + "'; " + usage);
}

}  // namespace nanochat::host

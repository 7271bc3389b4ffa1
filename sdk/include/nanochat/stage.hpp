// The interface of a pipeline stage plugin (tokenizer, pretrain, ..., serve): it declares
// its own options (so `nanochat run STAGE --help` lists them) and runs with their values.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <filesystem>
#include <string>

namespace nanochat {

// What the host tells a stage about the run it is part of.
struct StageContext {
  std::string stage_name;             // as the user named it, e.g. "tokenizer"
  std::filesystem::path base_dir;     // NANOCHAT_BASE_DIR (artifacts of every stage)
  std::filesystem::path host_binary;  // the running `nanochat`, to start helper processes
};

class Stage {
 public:
  static constexpr const char* kInterfaceId = "nanochat.stage/1";

  virtual ~Stage() = default;

  // Adds this stage's options (with defaults and help text) to `options`.
  virtual void declare_options(boost::program_options::options_description& options) = 0;

  // Does the work. Throws (nanochat::Error or any std::exception) with a one-line message.
  virtual void run(const boost::program_options::variables_map& options,
                   const StageContext& context) = 0;
};

}  // namespace nanochat

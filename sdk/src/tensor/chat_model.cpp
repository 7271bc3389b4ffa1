// Finding and loading the checkpoint to chat with (see nanochat/chat_model.hpp).
#include "nanochat/chat_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/token_shard.hpp"

namespace fs = std::filesystem;

namespace nanochat {
namespace {

struct Source {
  const char* name;
  Artifact artifact;
  const char* stage;  // the stage that writes it, for "run ... first"
};

// Latest pipeline stage first: the order default_chat_source() prefers.
constexpr std::array<Source, 4> kSources = {{
    {"rl", Artifact::chatrl_checkpoints, "rl"},
    {"sft", Artifact::chatsft_checkpoints, "sft"},
    {"mid", Artifact::mid_checkpoints, "midtrain"},
    {"base", Artifact::base_checkpoints, "pretrain"},
}};

const Source& find_source(const std::string& name) {
  for (const Source& source : kSources) {
    if (name == source.name) return source;
  }
  throw UsageError(fmt::format("unknown model source '{}': expected base, mid, sft or rl", name));
}

// Whether any model folder under `root` has a saved step.
bool has_checkpoints(const fs::path& root) {
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && last_checkpoint_step(it->path())) return true;
  }
  return false;
}

std::string join_steps(const std::vector<int64_t>& steps) {
  std::string text;
  for (int64_t step : steps) text += (text.empty() ? "" : ", ") + std::to_string(step);
  return text;
}

}  // namespace

Artifact chat_source_artifact(const std::string& source) { return find_source(source).artifact; }

std::string default_chat_source(const fs::path& base) {
  for (const Source& source : kSources) {
    if (has_checkpoints(artifact_dir(source.artifact, base))) return source.name;
  }
  throw Error(fmt::format("no checkpoints under {}: run the pretrain stage first (or set NANOCHAT_BASE_DIR)",
                          base.string()));
}

ChatModel load_chat_model(const fs::path& base, const ChatModelOptions& options) {
  ChatModel loaded;
  loaded.source = options.source.empty() ? default_chat_source(base) : options.source;
  const Source& source = find_source(loaded.source);
  const fs::path root = artifact_dir(source.artifact, base);
  if (!has_checkpoints(root)) {
    throw Error(fmt::format("no checkpoints in {}: run the {} stage first", root.string(), source.stage));
  }
  const fs::path dir = find_checkpoint_dir(base, source.artifact, options.model_tag);
  const std::vector<int64_t> steps = checkpoint_steps(dir);
  if (steps.empty()) {
    throw Error(fmt::format("no checkpoints in {}: run the {} stage with --model-tag {} first", dir.string(),
                            source.stage, dir.filename().string()));
  }
  const int64_t step = options.step < 0 ? steps.back() : options.step;
  if (std::find(steps.begin(), steps.end(), step) == steps.end()) {
    throw Error(fmt::format("no step {} in {}: saved steps are {}", step, dir.string(), join_steps(steps)));
  }
  loaded.checkpoint = CheckpointFiles{dir, step};
  loaded.meta = read_json_file(loaded.checkpoint.meta());
  if (!loaded.meta.contains("model_config")) {
    throw Error(loaded.checkpoint.meta().string() + ": no \"model_config\"; the checkpoint is damaged");
  }
  const GPTConfig config = loaded.meta.at("model_config").get<GPTConfig>();
  verify_checkpoint_file(loaded.checkpoint, loaded.meta, loaded.checkpoint.model(),
                         fmt::format("choose an earlier step with --step (saved: {})", join_steps(steps)));

  const fs::path tokenizer_dir = artifact_dir(Artifact::tokenizer, base);
  if (!fs::is_directory(tokenizer_dir)) {
    throw Error(fmt::format("no tokenizer in {}: run the tokenizer stage first", tokenizer_dir.string()));
  }
  loaded.tokenizer = PluginRegistry::instance().create<Tokenizer>(PluginKind::tokenizer, options.tokenizer);
  loaded.tokenizer->load(tokenizer_dir);
  if (static_cast<int64_t>(loaded.tokenizer->vocab_size()) != config.vocab_size) {
    throw Error(fmt::format("the tokenizer in {} has {} tokens but the model in {} was trained with {}",
                            tokenizer_dir.string(), loaded.tokenizer->vocab_size(), dir.string(), config.vocab_size));
  }

  if (loaded.meta.contains("tokenizer_fingerprint") &&
      loaded.meta.at("tokenizer_fingerprint").get<uint64_t>() != tokenizer_fingerprint(*loaded.tokenizer)) {
    throw Error(fmt::format("the model in {} was trained with another tokenizer than the one in {} (fingerprints differ): "
                            "use the base dir it was trained in",
                            dir.string(), tokenizer_dir.string()));
  }

  const c10::Device device = resolve_device(options.device);
  loaded.model = std::make_shared<GPT>(config, device, resolve_dtype(options.dtype, device));
  loaded.model->load(loaded.checkpoint.model());
  loaded.model->eval();
  return loaded;
}

}  // namespace nanochat

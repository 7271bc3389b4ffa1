// Loading a model to talk to: the newest checkpoint of a stage (base, mid, sft or rl) with
// its tokenizer, as nanochat's checkpoint_manager.load_model does for chat and serving.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nanochat/base_dir.hpp"
#include "nanochat/checkpoint.hpp"
#include "nanochat/tokenizer.hpp"

namespace nanochat {

class GPT;

struct ChatModelOptions {
  std::string source;        // "base", "mid", "sft" or "rl"; "" = default_chat_source()
  std::string model_tag;     // checkpoint folder, e.g. "d20"; "" = find_checkpoint_dir's choice
  int64_t step = -1;         // -1 = the last saved step
  std::string device = "auto";
  std::string dtype = "auto";
  std::string tokenizer = "bpe";  // tokenizer plugin, loading <base>/tokenizer
};

struct ChatModel {
  std::shared_ptr<GPT> model;  // in eval mode, weights loaded
  std::shared_ptr<Tokenizer> tokenizer;
  nlohmann::json meta;         // the checkpoint's meta_<step>.json
  CheckpointFiles checkpoint;
  std::string source;          // the stage it came from ("base", "mid", "sft", "rl")
};

// The checkpoint folder of a source name; throws UsageError for an unknown name.
Artifact chat_source_artifact(const std::string& source);

// The latest stage of the pipeline that has a saved checkpoint: rl, else sft, else mid,
// else base. Throws Error saying which stage to run when there is none.
std::string default_chat_source(const std::filesystem::path& base);

// Throws Error with the next step to take: no checkpoints ("run the sft stage first"), no
// such step (listing the saved ones), a missing tokenizer, a damaged file.
ChatModel load_chat_model(const std::filesystem::path& base, const ChatModelOptions& options);

}  // namespace nanochat

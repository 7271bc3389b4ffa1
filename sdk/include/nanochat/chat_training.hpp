// What the chat-training stages (midtrain, SFT, RL) share before their loops start: the
// model of an earlier stage, loaded to train on this process's device, the folder its
// continuation is saved to, and the task examples rendered into token ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <nlohmann/json.hpp>

#include "nanochat/base_dir.hpp"
#include "nanochat/chat_model.hpp"
#include "nanochat/conversation.hpp"
#include "nanochat/train_loop.hpp"

namespace nanochat {

// The options midtrain and SFT add to TrainSettings.
struct ChatTrainingOptions {
  std::string source;         // the stage to start from: base, mid or sft
  int64_t step = -1;          // its checkpoint step (-1: the last)
  std::string mixture;        // training tasks, the task-list grammar of nanochat/task.hpp
  std::string val_mixture;    // evaluation tasks
  std::string task_data_dir;  // "" = default_task_data_dir()
  int64_t max_seq_len = 2048;
};

// Declares --source, --step, --mixture, --val-mixture, --task-data-dir, --max-seq-len and
// every training stage's options (add_train_options).
void add_chat_training_options(boost::program_options::options_description& options, ChatTrainingOptions& chat,
                               TrainSettings& train);

struct ChatTrainingStart {
  ChatModel source;                  // in train mode; source.tokenizer is the run's tokenizer
  std::filesystem::path output_dir;  // <base>/<output artifact>/<the source's model tag>
};

// Loads `source` ("base", "mid", "sft") at settings.model_tag and `step` (-1: the last)
// onto the process's device with settings.dtype, refusing a checkpoint whose tokenizer
// is not the one in <base>/tokenizer. Throws Error saying which stage to run first.
ChatTrainingStart start_chat_training(const std::filesystem::path& base, const std::string& source, int64_t step,
                                      const TrainSettings& settings, Artifact output, const TrainProcess& process);

// What a chat stage's checkpoints record beyond the loop's own keys: the options, the
// sequence length, where it started from and the tokenizer's fingerprint.
nlohmann::json chat_training_meta(const ChatTrainingStart& start, const ChatTrainingOptions& chat,
                                  const boost::program_options::variables_map& values);

// Renders conversations 0 .. count-1 (get(i) gives the i-th) on every core, in order.
// Throws Error naming the index of a conversation that cannot be rendered.
std::vector<RenderedConversation> render_conversations(size_t count, const std::function<Conversation(size_t)>& get,
                                                       const Tokenizer& tokenizer, size_t max_tokens);

// Opens the tasks of `mixture` (splits default to `default_split`), shuffles them as
// nanochat's TaskMixture with `seed`, keeps the first `limit` examples, and renders them.
std::vector<RenderedConversation> render_task_mixture(const std::string& mixture, const std::string& default_split,
                                                      const std::string& task_data_dir, uint64_t seed,
                                                      const Tokenizer& tokenizer, size_t max_tokens,
                                                      size_t limit = SIZE_MAX);

}  // namespace nanochat

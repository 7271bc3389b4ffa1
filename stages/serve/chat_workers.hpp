// The engines that serve requests: one per worker, loaded from a checkpoint by
// load_chat_model. Workers on the same device share one read-only model; with --device
// auto or cuda and several GPUs, worker i runs on GPU i mod count (nanochat: one per GPU).
// Each worker's model work runs on its own thread (see job_thread.hpp); CPU workers split
// the cores between them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nanochat/chat_model.hpp"
#include "nanochat/conversation.hpp"
#include "job_thread.hpp"
#include "nanochat/engine.hpp"

namespace nanochat::serve {

class ChatWorkers {
 public:
  ChatWorkers(const std::filesystem::path& base, const ChatModelOptions& options, size_t workers);

  // Runs `work` with the worker's engine on the worker's thread; returns when it is done.
  void run(size_t worker, const std::function<void(Engine&)>& work);
  const std::string& device(size_t worker) const { return devices_.at(worker); }
  // What /v1/models lists, e.g. "nanochat-sft-d20-000700".
  const std::string& model_id() const { return model_id_; }
  int64_t created() const { return created_; }  // the checkpoint's time, Unix seconds

  // The prompt of the assistant's next turn. Throws HttpError (400) when it leaves no room
  // in the model's context for a reply.
  std::vector<TokenId> prompt(const Conversation& conversation) const;

 private:
  std::vector<ChatModel> models_;  // one per device in use
  std::vector<std::unique_ptr<JobThread>> threads_;  // destroyed last, after the engines
  std::vector<std::unique_ptr<Engine>> engines_;
  std::vector<std::string> devices_;
  std::string model_id_;
  int64_t created_ = 0;
};

}  // namespace nanochat::serve

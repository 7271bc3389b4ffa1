// Loading every worker's engine, and the prompt check that needs the tokenizer and the
// model's context length.
#include "chat_workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "http_error.hpp"
#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"

namespace fs = std::filesystem;

namespace nanochat::serve {
namespace {

// The device each worker runs on: spread over the GPUs when the flag names none.
std::vector<std::string> worker_devices(const std::string& flag, size_t workers) {
  const int gpus = device_info().cuda_devices;
  const bool spread = (flag == "cuda" || (flag == "auto" && gpus > 0)) && gpus > 1;
  std::vector<std::string> devices;
  for (size_t i = 0; i < workers; ++i) {
    devices.push_back(spread ? fmt::format("cuda:{}", i % gpus) : resolve_device(flag).str());
  }
  return devices;
}

// Threads for each worker's parallel regions: CPU workers share the cores; a GPU worker's
// host work keeps LibTorch's default.
int intra_op_threads(const std::vector<std::string>& devices, const std::string& device) {
  if (device != "cpu") return 0;
  const auto on_cpu = static_cast<unsigned>(std::count(devices.begin(), devices.end(), std::string("cpu")));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / on_cpu));
}

int64_t unix_seconds(const fs::path& file) {
  const auto written = fs::last_write_time(file);
  const auto system = std::chrono::time_point_cast<std::chrono::seconds>(
      written - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  return system.time_since_epoch().count();
}

}  // namespace

ChatWorkers::ChatWorkers(const fs::path& base, const ChatModelOptions& options, size_t workers) {
  devices_ = worker_devices(options.device, workers);
  std::map<std::string, size_t> model_of_device;
  for (const std::string& device : devices_) {
    threads_.push_back(std::make_unique<JobThread>(intra_op_threads(devices_, device)));
    auto [it, fresh] = model_of_device.emplace(device, models_.size());
    if (fresh) {
      ChatModelOptions on_device = options;
      on_device.device = device;
      threads_.back()->run([&] { models_.push_back(load_chat_model(base, on_device)); });
      log::info("serve: loaded {} on {}", models_.back().checkpoint.model().string(), device);
    }
    const ChatModel& model = models_[it->second];
    engines_.push_back(std::make_unique<Engine>(model.model, model.tokenizer));
  }
  const ChatModel& first = models_.front();
  model_id_ = fmt::format("nanochat-{}-{}-{:06d}", first.source, first.checkpoint.dir.filename().string(), first.checkpoint.step);
  created_ = unix_seconds(first.checkpoint.meta());
}

void ChatWorkers::run(size_t worker, const std::function<void(Engine&)>& work) {
  Engine& engine = *engines_.at(worker);
  threads_.at(worker)->run([&] { work(engine); });
}

std::vector<TokenId> ChatWorkers::prompt(const Conversation& conversation) const {
  const Engine& engine = *engines_.front();
  const auto context = static_cast<size_t>(engine.context_length());
  Conversation with_reply = conversation;
  with_reply.messages.push_back(Message{"assistant", {}});
  // Rendering stops just past the context, which is enough to tell that it is too long.
  std::vector<TokenId> ids = render_for_completion(with_reply, engine.tokenizer(), context + 1);
  if (ids.size() >= context) {
    throw invalid_request(fmt::format("the conversation is too long for the model: at least {} tokens, and the context "
                                      "holds {} (prompt and reply); shorten or drop earlier messages",
                                      ids.size(), context),
                          "messages");
  }
  return ids;
}

}  // namespace nanochat::serve

// The start of a chat-training stage (see nanochat/chat_training.hpp).
#include "nanochat/chat_training.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include <boost/program_options.hpp>

#include "nanochat/device.hpp"
#include "nanochat/error.hpp"
#include "nanochat/gpt.hpp"
#include "nanochat/log.hpp"
#include "nanochat/token_shard.hpp"

namespace po = boost::program_options;

namespace nanochat {

void add_chat_training_options(po::options_description& o, ChatTrainingOptions& c, TrainSettings& train) {
  o.add_options()
    ("source", po::value(&c.source)->default_value(c.source), "the stage to start from: base, mid or sft")
    ("step", po::value(&c.step)->default_value(c.step), "the checkpoint step to start from (-1: the last)")
    ("mixture", po::value(&c.mixture)->default_value(c.mixture), "training tasks: name[=arg][:split][*repeat], comma-separated (`nanochat tasks list`)")
    ("val-mixture", po::value(&c.val_mixture)->default_value(c.val_mixture), "evaluation tasks, the same grammar")
    ("task-data-dir", po::value(&c.task_data_dir)->default_value(c.task_data_dir), "where the tasks read their data (default $NANOCHAT_DATA_DIR, then ../shared/data)")
    ("max-seq-len", po::value(&c.max_seq_len)->default_value(c.max_seq_len), "context length T");
  add_train_options(o, train);
}

ChatTrainingStart start_chat_training(const std::filesystem::path& base, const std::string& source, int64_t step,
                                      const TrainSettings& settings, Artifact output, const TrainProcess& process) {
  ChatModelOptions options;
  options.source = source;
  options.model_tag = settings.model_tag;
  options.step = step;
  options.device = device_name(process.device);
  options.dtype = settings.dtype;
  options.tokenizer = settings.tokenizer;
  ChatTrainingStart start;
  start.source = load_chat_model(base, options);
  start.source.model->train();
  start.output_dir = artifact_dir(output, base) / start.source.checkpoint.dir.filename();
  if (process.dist->is_main()) {
    log::info("starting from {} step {} ({})", start.source.checkpoint.dir.string(), start.source.checkpoint.step,
              source);
  }
  return start;
}

nlohmann::json chat_training_meta(const ChatTrainingStart& start, const ChatTrainingOptions& chat,
                                  const po::variables_map& values) {
  return {{"user_config", options_as_json(values)},
          {"max_seq_len", chat.max_seq_len},
          {"source",
           {{"stage", start.source.source}, {"dir", start.source.checkpoint.dir.string()}, {"step", start.source.checkpoint.step}}},
          {"tokenizer_fingerprint", tokenizer_fingerprint(*start.source.tokenizer)}};
}

std::vector<RenderedConversation> render_conversations(size_t count, const std::function<Conversation(size_t)>& get,
                                                       const Tokenizer& tokenizer, size_t max_tokens) {
  std::vector<RenderedConversation> rendered(count);
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      try {
        rendered[i] = render_conversation(get(i), tokenizer, max_tokens);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::make_exception_ptr(Error("conversation " + std::to_string(i) + ": " + e.what()));
        next = count;
      }
    }
  };
  const size_t threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), count / 256 + 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
  return rendered;
}

}  // namespace nanochat

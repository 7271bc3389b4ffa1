// `nanochat chat` (= `nanochat run chat`): talk to a checkpoint in the terminal, as
// nanochat's chat_cli. With -p it answers one prompt and exits (for scripts); otherwise it
// reads lines from stdin, with `clear` to start over and `quit` / `exit` to leave.
#include <boost/program_options.hpp>

#include <iostream>
#include <string>

#include "chat_session.hpp"
#include "nanochat/chat_model.hpp"
#include "nanochat/checkpoint.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace po = boost::program_options;

namespace nanochat::chat {
namespace {

bool print(std::string_view text) {
  std::cout << text << std::flush;
  return true;
}

std::string trimmed(const std::string& line) {
  const size_t begin = line.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
}

void interactive(ChatSession& session) {
  std::cout << "Type 'quit' or 'exit' to leave, 'clear' to start a new conversation.\n";
  for (std::string line;;) {
    std::cout << "\nUser: " << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << "\n";  // end of input: leave the terminal on a fresh line
      break;
    }
    const std::string text = trimmed(line);
    if (text.empty()) continue;
    if (text == "quit" || text == "exit") break;
    if (text == "clear") {
      session.clear();
      std::cout << "Conversation cleared.\n";
      continue;
    }
    std::cout << "\nAssistant: " << std::flush;
    try {
      session.reply(text, print);
    } catch (const Error& e) {
      log::error("{}", e.what());  // e.g. a message too long for the context: keep chatting
    }
    std::cout << "\n";
  }
}

class ChatStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    const SamplingOptions sampling;
    o.add_options()
      ("prompt,p", po::value<std::string>()->default_value(""), "answer this one prompt and exit (default: interactive)")
      ("source", po::value<std::string>()->default_value(""), "checkpoints of base, mid, sft or rl (default: the latest stage that has some)")
      ("model-tag", po::value<std::string>()->default_value(""), "checkpoint folder, e.g. d20 (default: the largest depth)")
      ("step", po::value<int64_t>()->default_value(-1), "checkpoint step (-1: the last one)")
      ("device", po::value<std::string>()->default_value("auto"), "auto, cpu, cuda, cuda:N")
      ("dtype", po::value<std::string>()->default_value("auto"), "compute dtype: auto (bf16 on CUDA, fp32 on CPU), fp32, bf16")
      ("temperature,t", po::value<double>()->default_value(0.6, "0.6"), "sampling temperature (0: greedy)")
      ("top-k,k", po::value<int>()->default_value(50), "sample among the k most likely tokens (0: all)")
      ("max-tokens", po::value<int>()->default_value(256), "tokens per reply at most")
      ("seed", po::value<uint64_t>()->default_value(sampling.seed), "sampling seed of the first turn (each turn adds 1)")
      ("tokenizer", po::value<std::string>()->default_value("bpe"), "tokenizer plugin (reads $NANOCHAT_BASE_DIR/tokenizer)");
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    SamplingOptions sampling;
    sampling.temperature = v["temperature"].as<double>();
    sampling.top_k = v["top-k"].as<int>();
    sampling.max_tokens = v["max-tokens"].as<int>();
    sampling.seed = v["seed"].as<uint64_t>();
    if (!(sampling.temperature >= 0.0)) throw UsageError("--temperature must be 0 or more");
    if (sampling.top_k < 0) throw UsageError("--top-k must be 0 (off) or more");
    if (sampling.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");

    ChatModelOptions model_options;
    model_options.source = v["source"].as<std::string>();
    if (!model_options.source.empty()) chat_source_artifact(model_options.source);  // refuse a bad name before loading
    model_options.model_tag = v["model-tag"].as<std::string>();
    model_options.step = v["step"].as<int64_t>();
    model_options.device = v["device"].as<std::string>();
    model_options.dtype = v["dtype"].as<std::string>();
    model_options.tokenizer = v["tokenizer"].as<std::string>();
    ChatModel loaded = load_chat_model(context.base_dir, model_options);
    log::info("chat: {} model {} step {}", loaded.source, loaded.checkpoint.dir.string(), loaded.checkpoint.step);

    ChatSession session(std::make_shared<Engine>(loaded.model, loaded.tokenizer), sampling);
    const std::string prompt = v["prompt"].as<std::string>();
    if (!prompt.empty()) {
      session.reply(prompt, print);
      std::cout << "\n";
    } else {
      interactive(session);
    }
  }
};

}  // namespace
}  // namespace nanochat::chat

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::chat::ChatStage, "chat", "1.0.0",
                       "talk to a checkpoint in the terminal (-p PROMPT answers once)")

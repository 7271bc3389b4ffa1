// `nanochat run serve` (alias `nanochat serve`): nanochat's chat_web options → a server
// that listens at once, loads the model in the background, and stops on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <boost/program_options.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "chat_server.hpp"
#include "nanochat/base_dir.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/stage.hpp"
#include "nanochat/tensor_plugin.hpp"

namespace po = boost::program_options;

namespace nanochat::serve {
namespace {

template <class T>
void check_range(const char* flag, T value, T low, T high) {
  if (value < low || value > high) {
    throw UsageError(fmt::format("--{} must be between {} and {}, got {}", flag, low, high, value));
  }
}

ServerOptions server_options(const po::variables_map& v) {
  ServerOptions s;
  const RequestLimits limits;
  s.host = v["host"].as<std::string>();
  s.port = v["port"].as<int>();
  check_range("port", s.port, 0, 65535);
  s.workers = v["workers"].as<size_t>();
  check_range<size_t>("workers", s.workers, 1, 1024);
  s.max_queued = v["queue-size"].as<size_t>();
  check_range<size_t>("queue-size", s.max_queued, 0, 1024);  // each place holds an HTTP thread
  s.api_key = v["api-key"].as<std::string>();
  s.cors = v["cors"].as<bool>();
  // A key on the command line shows in `ps`; the environment does not.
  if (const char* key = std::getenv("NANOCHAT_API_KEY"); s.api_key.empty() && key != nullptr) s.api_key = key;
  s.defaults.temperature = v["temperature"].as<double>();
  check_range("temperature", s.defaults.temperature, 0.0, limits.max_temperature);
  s.defaults.top_k = v["top-k"].as<int>();
  check_range("top-k", s.defaults.top_k, 1, limits.max_top_k);
  s.defaults.max_tokens = v["max-tokens"].as<int>();
  check_range("max-tokens", s.defaults.max_tokens, 1, limits.max_tokens);
  return s;
}

ChatModelOptions model_options(const po::variables_map& v) {
  ChatModelOptions m;
  m.source = v["source"].as<std::string>();
  m.model_tag = v["model-tag"].as<std::string>();
  m.step = v["step"].as<int64_t>();
  m.device = v["device"].as<std::string>();
  m.dtype = v["dtype"].as<std::string>();
  m.tokenizer = v["tokenizer"].as<std::string>();
  return m;
}

// SIGINT and SIGTERM are taken by a thread of ours (blocked everywhere else, so httplib's
// and LibTorch's threads never see them); restored when serving ends.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

  // Waits up to `timeout` for a signal; true when one came.
  bool wait(std::chrono::milliseconds timeout) const {
    timespec t{0, static_cast<long>(std::chrono::nanoseconds(timeout).count())};
    return sigtimedwait(&set_, nullptr, &t) > 0;
  }

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

class ServeStage : public Stage {
 public:
  void declare_options(po::options_description& o) override {
    const ServerOptions d;
    const ChatModelOptions m;
    o.add_options()
      ("source", po::value<std::string>()->default_value(m.source), "checkpoints of base, mid, sft or rl (default: the latest stage that has some)")
      ("model-tag", po::value<std::string>()->default_value(m.model_tag), "checkpoint folder, e.g. d20 (default: the largest)")
      ("step", po::value<int64_t>()->default_value(m.step), "checkpoint step (-1: the last)")
      ("device", po::value<std::string>()->default_value(m.device), "auto, cpu, cuda, cuda:N (auto/cuda with several GPUs: workers spread over them)")
      ("dtype", po::value<std::string>()->default_value(m.dtype), "compute dtype: auto (bf16 on CUDA, fp32 on CPU), fp32, bf16")
      ("tokenizer", po::value<std::string>()->default_value(m.tokenizer), "tokenizer plugin (reads $NANOCHAT_BASE_DIR/tokenizer)")
      ("host", po::value<std::string>()->default_value(d.host), "address to listen on (0.0.0.0: every interface)")
      ("port", po::value<int>()->default_value(d.port), "TCP port (0: any free port)")
      ("workers", po::value<size_t>()->default_value(d.workers), "requests generated in parallel, one engine each")
      ("queue-size", po::value<size_t>()->default_value(d.max_queued), "requests that may wait for a worker; more get 503")
      ("api-key", po::value<std::string>()->default_value(""), "require 'Authorization: Bearer KEY' on every route but /health and / (or set NANOCHAT_API_KEY)")
      ("cors", po::bool_switch(), "let web pages of any origin call the API (Access-Control-Allow-Origin: *); off: only the served page")
      ("temperature", po::value<double>()->default_value(d.defaults.temperature, fmt::format("{}", d.defaults.temperature)), "default sampling temperature (0: greedy)")
      ("top-k", po::value<int>()->default_value(d.defaults.top_k), "default top-k")
      ("max-tokens", po::value<int>()->default_value(d.defaults.max_tokens), "default reply length cap in tokens");
  }

  void run(const po::variables_map& v, const StageContext& context) override {
    ServerOptions options = server_options(v);
    options.report_dir = artifact_dir(Artifact::report, context.base_dir);
    const ChatModelOptions model = model_options(v);
    signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not the end of the server
    StopSignals signals;
    ChatServer server(options);
    const int port = server.bind();
    log::info("serve: listening on http://{}:{}/ ; loading the model (GET /health answers 200 once ready)", options.host, port);

    std::atomic<bool> stop_requested{false}, serving{true};
    std::exception_ptr load_error;
    std::thread loader([&] {
      try {
        server.set_workers(std::make_unique<ChatWorkers>(context.base_dir, model, options.workers));
        log::info("serve: ready with {} worker(s)", options.workers);
      } catch (...) {
        load_error = std::current_exception();
        stop_requested = true;
      }
    });
    // stop() does nothing before listen() has started, so it is repeated until serving ends.
    std::thread stopper([&] {
      while (serving) {
        if (signals.wait(std::chrono::milliseconds(100))) {
          log::info("serve: stopping");
          stop_requested = true;
        }
        if (stop_requested) server.stop();
      }
    });
    server.listen();
    serving = false;
    stopper.join();
    loader.join();
    if (load_error) std::rethrow_exception(load_error);
  }
};

}  // namespace
}  // namespace nanochat::serve

NANOCHAT_TENSOR_PLUGIN(NANOCHAT_KIND_STAGE, nanochat::Stage, nanochat::serve::ServeStage, "serve", "0.1.0",
                       "web chat and OpenAI-compatible API over HTTP (nanochat chat_web)")

// The HTTP server (cpp-httplib): the chat page, nanochat's and OpenAI's chat completion
// routes, /v1/models, /health and /stats, the run report (/report), an optional Bearer key,
// and (with --cors) CORS for pages of other origins.
// It listens before the model is loaded (health answers 503 until set_workers), so a
// supervisor sees it come up and waits for ready.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "chat_request.hpp"
#include "chat_workers.hpp"
#include "reply_stream.hpp"
#include "worker_pool.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace nanochat::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;  // "" = no key asked
  bool cors = false;    // answer CORS preflights and allow every origin (Access-Control-Allow-Origin: *)
  size_t workers = 1;
  size_t max_queued = 64;  // requests waiting for a worker before 503
  std::filesystem::path report_dir;  // report.md and its plots for /report ("" = no such route)
  SamplingDefaults defaults;
  RequestLimits limits;
};

class ChatServer {
 public:
  explicit ChatServer(const ServerOptions& options);
  ~ChatServer();

  // Binds the socket (throws Error when it cannot) and returns the port (useful with 0).
  int bind();
  // Serves until stop(); call after bind().
  void listen();
  void stop();
  // Makes the server ready: completions are answered from now on.
  void set_workers(std::unique_ptr<ChatWorkers> workers);

 private:
  struct Counters {
    std::atomic<uint64_t> completed{0}, cancelled{0}, rejected{0}, invalid{0}, failed{0};
  };

  void add_routes();
  bool authorized(const httplib::Request& request) const;
  ChatWorkers& ready_workers() const;
  void complete(const httplib::Request& request, httplib::Response& response, ChatApi api);
  void respond_at_once(const ChatRequest& request, const std::vector<TokenId>& prompt, WorkerPool::Ticket& ticket,
                       httplib::Response& response);
  void stream(const ChatRequest& request, std::vector<TokenId> prompt, std::unique_ptr<WorkerPool::Ticket> ticket,
              ChatApi api, httplib::Response& response);
  // The provider's body: generates on a worker, writing events until done or the client leaves.
  bool write_stream(const ChatRequest& request, const std::vector<TokenId>& prompt, WorkerPool::Ticket& ticket,
                    ChatApi api, const ReplyStream::Write& write);
  nlohmann::json health() const;
  nlohmann::json stats() const;

  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  WorkerPool pool_;
  std::unique_ptr<ChatWorkers> workers_;
  std::atomic<bool> ready_{false};
  Counters counters_;
  int port_ = 0;
  int listen_socket_ = -1;  // the socket httplib bound, seen through its socket-options hook
  static constexpr int kListenBacklog = 1024;  // capped by net.core.somaxconn
};

}  // namespace nanochat::serve

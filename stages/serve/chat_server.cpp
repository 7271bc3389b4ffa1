// Routes and their plumbing. Generation for a stream runs inside httplib's content
// provider, on the connection's thread: each event is written as soon as the engine has a
// whole character, and a failed write (the client left) cancels the generation there and
// then, which hands the worker to the next request.
#include "chat_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include "chat_page.hpp"
#include "http_error.hpp"
#include "internal_error.hpp"
#include "nanochat/log.hpp"
#include "reply_shapes.hpp"
#include "report_routes.hpp"

using nlohmann::json;

namespace nanochat::serve {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;  // SPEC's 32,000 characters fit with room for JSON escapes
// Threads beyond those that generate or wait: /health, /stats and refusals stay answered.
constexpr size_t kSpareThreads = 8;

void send_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& response, const HttpError& error) { send_json(response, error.status, openai_error(error)); }

// Compares in time independent of where the strings differ, so the key cannot be guessed
// byte by byte from response times.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

uint64_t random_seed() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random();
}

SamplingOptions sampling_options(const ChatRequest& request) {
  SamplingOptions options;
  options.temperature = request.temperature;
  options.top_k = request.top_k;
  options.max_tokens = request.max_tokens;
  options.seed = request.seed ? *request.seed : random_seed();
  return options;
}

Usage usage_of(const Completion& completion) { return {completion.prompt_tokens, completion.completion_tokens}; }

}  // namespace

ChatServer::ChatServer(const ServerOptions& options)
    : options_(options), http_(std::make_unique<httplib::Server>()), pool_(options.workers, options.max_queued) {
  const size_t threads = options.workers + options.max_queued + kSpareThreads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(kMaxBodyBytes);
  // httplib's default adds SO_REUSEPORT, with which a second server binds a busy port and
  // silently takes half its connections; a clear "address in use" is better.
  http_->set_socket_options([this](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = socket;
  });
  // Pages of any other origin may call the API only when asked for (--cors): with a key in
  // the browser, any site the user visits could otherwise talk to this server.
  if (options.cors) http_->set_default_headers({{"Access-Control-Allow-Origin", "*"}});
  add_routes();
}

ChatServer::~ChatServer() = default;

int ChatServer::bind() {
  errno = 0;
  port_ = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                             : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0) {
    throw Error(fmt::format("cannot listen on {}:{}: {} (another server on that port? choose one with --port)", options_.host,
                            options_.port, errno ? std::strerror(errno) : "bind failed"));
  }
  // Debian's httplib listens with a backlog of 5: when more clients connect at once than
  // the accept loop takes, the kernel falls back to SYN cookies and some connections are
  // reset. listen() again on the bound socket only raises the backlog.
  if (::listen(listen_socket_, kListenBacklog) != 0) {
    log::warn("serve: cannot raise the listen backlog: {}", std::strerror(errno));
  }
  return port_;
}

void ChatServer::listen() { http_->listen_after_bind(); }

void ChatServer::stop() { http_->stop(); }

void ChatServer::set_workers(std::unique_ptr<ChatWorkers> workers) {
  workers_ = std::move(workers);
  ready_.store(true, std::memory_order_release);
}

ChatWorkers& ChatServer::ready_workers() const {
  if (!ready_.load(std::memory_order_acquire)) {
    throw HttpError(503, "server_error", "the model is still loading; GET /health answers 200 once it is ready", "", "loading");
  }
  return *workers_;
}

bool ChatServer::authorized(const httplib::Request& request) const {
  // Open without a key: the health check (for supervisors), the page (a browser cannot
  // attach a key to a page load; the page asks for it) and, with --cors, CORS preflights.
  if (options_.api_key.empty() || request.path == "/health" || (options_.cors && request.method == "OPTIONS") ||
      (request.method == "GET" && request.path == "/")) {
    return true;
  }
  return same_secret(request.get_header_value("Authorization"), "Bearer " + options_.api_key);
}

void ChatServer::add_routes() {
  using httplib::Request;
  using httplib::Response;
  using Handled = httplib::Server::HandlerResponse;

  http_->set_pre_routing_handler([this](const Request& request, Response& response) {
    if (authorized(request)) return Handled::Unhandled;
    send_error(response, HttpError(401, "invalid_request_error", "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                   "", "invalid_api_key"));
    response.set_header("WWW-Authenticate", "Bearer");
    return Handled::Handled;
  });

  http_->Get("/", [](const Request&, Response& response) { response.set_content(chat_page(), "text/html; charset=utf-8"); });
  if (!options_.report_dir.empty()) add_report_routes(*http_, options_.report_dir);
  http_->Get("/health", [this](const Request&, Response& response) {
    send_json(response, ready_.load(std::memory_order_acquire) ? 200 : 503, health());
  });
  http_->Get("/stats", [this](const Request&, Response& response) { send_json(response, 200, stats()); });
  http_->Get("/v1/models", [this](const Request&, Response& response) {
    try {
      const ChatWorkers& workers = ready_workers();
      send_json(response, 200, openai_models(workers.model_id(), workers.created()));
    } catch (const HttpError& error) {
      send_error(response, error);
    }
  });
  http_->Post("/chat/completions", [this](const Request& request, Response& response) {
    complete(request, response, ChatApi::nanochat);
  });
  http_->Post("/v1/chat/completions", [this](const Request& request, Response& response) {
    complete(request, response, ChatApi::openai);
  });
  if (options_.cors) {
    http_->Options(".*", [](const Request&, Response& response) {
      response.status = 204;
      response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      response.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    });
  }

  // httplib's own refusals (no route, body too large) get the same error body as ours.
  http_->set_error_handler([](const Request& request, Response& response) {
    if (!response.body.empty()) return;
    std::string message = response.status == 404   ? fmt::format("no route {} {}", request.method, request.path)
                          : response.status == 413 ? fmt::format("the body is larger than {} bytes", kMaxBodyBytes)
                                                   : fmt::format("HTTP {}", response.status);
    send_error(response, HttpError(response.status, "invalid_request_error", message));
  });
  http_->set_exception_handler([this](const Request&, Response& response, std::exception_ptr error) {
    ++counters_.failed;
    send_error(response, internal_error(error));
  });
  http_->set_logger([](const Request& request, const Response& response) {
    // Supervisors poll /health; one line each would drown the rest.
    if (request.path == "/health") return;
    log::info("{} {} {} {}", request.remote_addr, request.method, request.path, response.status);
  });
}

void ChatServer::complete(const httplib::Request& http_request, httplib::Response& response, ChatApi api) {
  try {
    ChatWorkers& workers = ready_workers();
    ChatRequest request = parse_chat_request(http_request.body, options_.defaults, options_.limits);
    if (api == ChatApi::nanochat) request.stream = true;  // nanochat's route only streams
    std::vector<TokenId> prompt = workers.prompt(request.conversation);
    std::unique_ptr<WorkerPool::Ticket> ticket = pool_.try_admit();
    if (!ticket) {
      throw HttpError(503, "server_error",
                      fmt::format("the server is busy: {} workers and {} queued requests (--workers, --queue-size); try again shortly",
                                  options_.workers, options_.max_queued),
                      "", "overloaded");
    }
    if (request.stream) {
      stream(request, std::move(prompt), std::move(ticket), api, response);
    } else {
      respond_at_once(request, prompt, *ticket, response);
    }
  } catch (const HttpError& error) {
    ++(error.status == 400 ? counters_.invalid : counters_.rejected);
    send_error(response, error);
  }
}

void ChatServer::respond_at_once(const ChatRequest& request, const std::vector<TokenId>& prompt, WorkerPool::Ticket& ticket,
                                 httplib::Response& response) {
  const size_t worker = ticket.acquire();
  Completion completion;
  workers_->run(worker, [&](Engine& engine) { completion = engine.complete(prompt, sampling_options(request)); });
  ticket.release();
  ++counters_.completed;
  send_json(response, 200,
            openai_completion(new_reply_identity(workers_->model_id()), completion.text,
                              finish_reason_name(completion.finish_reason), usage_of(completion)));
}

void ChatServer::stream(const ChatRequest& request, std::vector<TokenId> prompt, std::unique_ptr<WorkerPool::Ticket> ticket,
                        ChatApi api, httplib::Response& response) {
  std::shared_ptr<WorkerPool::Ticket> shared_ticket(std::move(ticket));
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");  // reverse proxies: pass events on at once
  response.set_chunked_content_provider(
      "text/event-stream",
      [this, request, prompt = std::move(prompt), shared_ticket, api](size_t, httplib::DataSink& sink) {
        auto write = [&sink](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); };
        if (!write_stream(request, prompt, *shared_ticket, api, write)) return false;
        sink.done();
        return true;
      },
      // Runs however the response ends, also when the provider never ran.
      [shared_ticket](bool) { shared_ticket->release(); });
}

bool ChatServer::write_stream(const ChatRequest& request, const std::vector<TokenId>& prompt, WorkerPool::Ticket& ticket,
                              ChatApi api, const ReplyStream::Write& write) {
  try {
    const size_t worker = ticket.acquire();
    ReplyStream reply(api, new_reply_identity(workers_->model_id()), worker, request.include_usage, write);
    bool connected = reply.start();
    Completion completion;
    if (connected) {
      // The engine's thread writes the events; this connection's thread waits meanwhile.
      workers_->run(worker, [&](Engine& engine) {
        completion = engine.complete(prompt, sampling_options(request),
                                     [&](std::string_view text) { return connected = reply.text(text); });
      });
    }
    ticket.release();
    if (connected && reply.finish(finish_reason_name(completion.finish_reason), usage_of(completion))) {
      ++counters_.completed;
      return true;
    }
    ++counters_.cancelled;
    log::info("serve: the client left; generation stopped after {} tokens", completion.completion_tokens);
    return false;
  } catch (const std::exception& e) {
    // The status line is sent already: all that is left is to end the stream early.
    ticket.release();
    ++counters_.failed;
    log::error("serve: generation failed: {}", e.what());
    return false;
  }
}

json ChatServer::health() const {
  const bool ready = ready_.load(std::memory_order_acquire);
  std::set<std::string> gpus;
  if (ready) {
    for (size_t i = 0; i < options_.workers; ++i) {
      if (workers_->device(i).rfind("cuda", 0) == 0) gpus.insert(workers_->device(i));
    }
  }
  json health = {{"status", ready ? "ok" : "loading"},
                 {"ready", ready},
                 {"num_gpus", gpus.size()},
                 {"available_workers", pool_.snapshot().available_workers}};
  if (ready) health["model"] = workers_->model_id();  // which checkpoint answers, e.g. nanochat-sft-d4-000100
  return health;
}

json ChatServer::stats() const {
  const WorkerPool::Snapshot pool = pool_.snapshot();
  const bool ready = ready_.load(std::memory_order_acquire);
  json workers = json::array();
  for (size_t i = 0; i < pool.workers.size(); ++i) {
    workers.push_back({{"gpu_id", i},
                       {"device", ready ? workers_->device(i) : ""},
                       {"busy", pool.workers[i].busy},
                       {"requests", pool.workers[i].requests}});
  }
  return {{"ready", ready},
          {"model", ready ? workers_->model_id() : ""},
          {"total_workers", pool.total_workers},
          {"available_workers", pool.available_workers},
          {"busy_workers", pool.total_workers - pool.available_workers},
          {"queued_requests", pool.queued},
          {"max_queued_requests", pool.max_queued},
          {"workers", workers},
          {"requests",
           {{"completed", counters_.completed.load()},
            {"cancelled", counters_.cancelled.load()},
            {"rejected", counters_.rejected.load()},
            {"invalid", counters_.invalid.load()},
            {"failed", counters_.failed.load()}}}};
}

}  // namespace nanochat::serve

// Server child process and SSE client for the serve tests. Every wait is bounded, so a
// server that hangs fails the test instead of stalling CTest.
#include "serve_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "host_process.hpp"
#include "nanochat/subprocess.hpp"

namespace nanochat::test {

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

ServeProcess::ServeProcess(const std::string& host, const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, std::string>>& env, std::filesystem::path log)
    : port_(free_loopback_port()), log_(std::move(log)) {
  std::vector<std::string> argv = {host, "run", "serve", "--host", "127.0.0.1", "--port", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  nanochat::ProcessIo io;
  io.stdin_path = "/dev/null";
  io.stdout_path = io.stderr_path = log_.string();
  pid_ = nanochat::spawn_process(argv, env, io);
  httplib::Client probe("127.0.0.1", port_);
  probe.set_connection_timeout(1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) throw std::runtime_error("nanochat serve exited while starting:\n" + this->log());
    auto health = probe.Get("/health");
    if (health && health->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("nanochat serve was not ready within 120 s:\n" + this->log());
}

ServeProcess::~ServeProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool ServeProcess::running() const {
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

std::string ServeProcess::log() const { return read_text(log_); }

httplib::Client ServeProcess::client() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(120);
  client.set_write_timeout(30);
  return client;
}

SseReply post_sse(httplib::Client& client, const std::string& path, const std::string& json_body,
                  const httplib::Headers& headers, const std::function<bool(const std::string&)>& on_data) {
  SseReply reply;
  std::string pending;  // bytes of an event not yet ended by a blank line
  httplib::Request request;
  request.method = "POST";
  request.path = path;
  request.headers = headers;
  request.body = json_body;
  request.set_header("Content-Type", "application/json");
  request.response_handler = [&](const httplib::Response& response) {
    reply.status = response.status;
    reply.content_type = response.get_header_value("Content-Type");
    return true;
  };
  request.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (reply.content_type.rfind("text/event-stream", 0) != 0) {
      reply.body.append(data, length);
      return true;
    }
    pending.append(data, length);
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
      std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      reply.data.push_back(event.substr(6));
      if (on_data && !on_data(reply.data.back())) {
        reply.hung_up = true;
        return false;
      }
    }
    return true;
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  if (!client.send(request, response, error) && !reply.hung_up) reply.error = httplib::to_string(error);
  return reply;
}

}  // namespace nanochat::test

// A real `nanochat run serve` child process on a free loopback port, and the HTTP client
// side the serve tests need: server-sent events collected (or hung up on) as they arrive.
#pragma once

#include <sys/types.h>

#include <httplib.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nanochat::test {

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_loopback_port();

class ServeProcess {
 public:
  // Starts `host run serve --host 127.0.0.1 --port P args...` with `env`, output to `log`,
  // and waits (bounded) until GET /health answers 200. Throws with the log on failure.
  ServeProcess(const std::string& host, const std::vector<std::string>& args,
               const std::vector<std::pair<std::string, std::string>>& env, std::filesystem::path log);
  ~ServeProcess();  // SIGTERM, then SIGKILL if it has not exited within seconds
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  bool running() const;
  std::string log() const;
  // A client with generous timeouts (a reply on a busy CPU can take seconds).
  httplib::Client client() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_;
};

struct SseReply {
  int status = 0;  // 0 when the request failed before a status arrived
  std::string content_type;
  std::string body;                // whole body when it was not an event stream (errors)
  std::vector<std::string> data;   // the payload of each `data:` line, raw bytes, in order
  bool hung_up = false;            // on_data returned false
  std::string error;               // httplib's reason when the request failed ("" otherwise)
};

// POSTs `json_body` to `path`; `on_data` sees each payload as it arrives and may return
// false to close the connection mid-stream.
SseReply post_sse(httplib::Client& client, const std::string& path, const std::string& json_body,
                  const httplib::Headers& headers = {}, const std::function<bool(const std::string&)>& on_data = {});

}  // namespace nanochat::test

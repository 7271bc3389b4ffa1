// A local HTTP server standing in for Hugging Face in the download tests: serves the shard
// files of a folder at /resolve/main/NAME through a redirect to a signed-looking CDN URL (as
// Hugging Face does), counts the requests for each file, and breaks chosen shards.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace nanochat::test {

class ShardServer {
 public:
  explicit ShardServer(std::filesystem::path dir);  // listens on 127.0.0.1, a free port
  ~ShardServer();
  ShardServer(const ShardServer&) = delete;
  ShardServer& operator=(const ShardServer&) = delete;

  // The --base-url that reaches it.
  std::string base_url() const;

  // The first request for `name` announces the whole file, sends half and hangs up.
  void break_first_body(const std::string& name);
  // Every request for `name` gets a well-formed response holding only the first 3/4 of it.
  void truncate_always(const std::string& name);

  // Requests that reached the CDN URL of `name`; every request the server answered.
  int requests(const std::string& name) const;
  int total_requests() const;

 private:
  void serve_file(const httplib::Request& request, httplib::Response& response);

  std::filesystem::path dir_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, int> requests_;
  int total_ = 0;
  std::set<std::string> break_first_;
  std::set<std::string> truncate_;
};

}  // namespace nanochat::test

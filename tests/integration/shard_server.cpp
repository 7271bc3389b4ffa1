// The download tests' stand-in for Hugging Face (see shard_server.hpp).
#include "shard_server.hpp"

#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace nanochat::test {
namespace {

constexpr const char* kShardPattern = R"(shard_\d{5}\.parquet)";

// The escapes of a signed CDN URL, which the client must send on so that the values read back
// the same. (Not %2B, %26 or %3D: Debian 12's cpp-httplib loses them, see http_fetch.cpp.)
std::string cdn_query(const std::string& name) {
  return "X-Amz-Credential=cas%2F20260101%2Fus-east-1&quoted=%22" + name + "%22%3B+100%25";
}

bool cdn_query_intact(const httplib::Request& request, const std::string& name) {
  return request.get_param_value("X-Amz-Credential") == "cas/20260101/us-east-1" &&
         request.get_param_value("quoted") == "\"" + name + "\"; 100%";
}

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

ShardServer::ShardServer(std::filesystem::path dir) : dir_(std::move(dir)) {
  server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++total_;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_.Get(std::string("/resolve/main/(") + kShardPattern + ")",
              [](const httplib::Request& request, httplib::Response& response) {
                response.status = 302;
                const std::string name = request.matches[1].str();
                response.set_header("Location", "/cdn/" + name + "?" + cdn_query(name));
              });
  server_.Get(std::string("/cdn/(") + kShardPattern + ")",
              [this](const httplib::Request& request, httplib::Response& response) { serve_file(request, response); });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("the shard server cannot bind a port on 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

ShardServer::~ShardServer() {
  server_.stop();
  thread_.join();
}

std::string ShardServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/resolve/main/"; }

void ShardServer::break_first_body(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  break_first_.insert(name);
}

void ShardServer::truncate_always(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  truncate_.insert(name);
}

int ShardServer::requests(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = requests_.find(name);
  return it == requests_.end() ? 0 : it->second;
}

int ShardServer::total_requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

void ShardServer::serve_file(const httplib::Request& request, httplib::Response& response) {
  const std::string name = request.matches[1].str();
  if (!cdn_query_intact(request, name)) {
    response.status = 403;  // what a CDN says to a mangled signature
    return;
  }
  const std::filesystem::path file = dir_ / name;
  if (!std::filesystem::exists(file)) {
    response.status = 404;
    return;
  }
  bool break_body = false;
  bool truncate = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    break_body = ++requests_[name] == 1 && break_first_.count(name) > 0;
    truncate = truncate_.count(name) > 0;
  }
  auto bytes = std::make_shared<std::string>(read_bytes(file));
  if (truncate) bytes->resize(bytes->size() * 3 / 4);
  if (!break_body) {
    response.set_content(*bytes, "application/octet-stream");
    return;
  }
  response.set_content_provider(bytes->size(), "application/octet-stream",
                                [bytes](size_t offset, size_t, httplib::DataSink& sink) {
                                  if (offset > 0) return false;  // hang up with half of it sent
                                  sink.write(bytes->data(), bytes->size() / 2);
                                  return true;
                                });
}

}  // namespace nanochat::test

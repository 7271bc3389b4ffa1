// The download stage through the real host: shards written by pyarrow, served by a local HTTP
// server that redirects as Hugging Face does (shard_server.hpp) and breaks chosen responses,
// must arrive byte for byte, broken bodies retried, a shard that never arrives whole never
// under its final name, a rerun must fetch nothing, and the data stage must read the folder.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "../unit/tokenizer_test_support.hpp"
#include "host_process.hpp"
#include "nanochat/subprocess.hpp"
#include "shard_server.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;
using nanochat::test::ShardServer;

namespace {

constexpr int kShards = 4;  // on the server; the tests download the first 3
constexpr int kRowsPerShard = 64;

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether two files hold the same bytes (their sizes when not: the bytes would flood the log).
::testing::AssertionResult same_bytes(const fs::path& got, const fs::path& want) {
  const std::string a = file_bytes(got);
  const std::string b = file_bytes(want);
  if (a == b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " (" << a.size() << " bytes) differs from " << want << " (" << b.size()
                                       << " bytes)";
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) found.push_back(line);
  }
  return found;
}

// A pid that no process has any more.
pid_t dead_pid() {
  const pid_t pid = nanochat::spawn_process({"true"});
  nanochat::wait_process(pid);
  return pid;
}

class Download : public ::testing::Test {
 protected:
  // The shards, written once for every test.
  static void SetUpTestSuite() {
    const std::optional<fs::path> python = nanochat::test::oracle_python();
    if (!python) {
      skip_reason_ = nanochat::test::oracle_missing_message();
      return;
    }
    fixtures_ = new ScratchDir();
    const std::string script = (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/oracles/parquet_shards.py").string();
    const int code = nanochat::run_process({python->string(), script, fixtures_->path.string(), std::to_string(kShards),
                                            std::to_string(kRowsPerShard)});
    if (code == 77) skip_reason_ = "pyarrow is missing from the oracle python (packaging/oracle-requirements.txt)";
    if (code != 0 && code != 77) setup_error_ = "parquet_shards.py exited with " + std::to_string(code);
  }
  static void TearDownTestSuite() {
    delete fixtures_;
    fixtures_ = nullptr;
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_EQ(setup_error_, "");
  }

  static fs::path fixture(const std::string& name) { return fixtures_->path / name; }
  fs::path parquet_dir() const { return scratch_.path / "base" / "parquet"; }

  HostResult nanochat(const std::vector<std::string>& args) const {
    return nanochat::test::run_host(NANOCHAT_TEST_HOST, args,
                                    {{"NANOCHAT_BASE_DIR", (scratch_.path / "base").string()},
                                     {"NANOCHAT_PLUGIN_PATH", ""},
                                     {"OMP_NUM_THREADS", "1"},
                                     {"NANOCHAT_MACHINE_CACHE", (scratch_.path / "machine.json").string()}});
  }
  HostResult download(const std::string& base_url, int shards) const {
    return nanochat({"run", "download", "--base-url", base_url, "--num-shards", std::to_string(shards),
                     "--num-workers", "2", "--retries", "2", "--retry-delay", "0.05", "--timeout", "5"});
  }

  static ScratchDir* fixtures_;
  static std::string skip_reason_;
  static std::string setup_error_;
  ScratchDir scratch_;
};

ScratchDir* Download::fixtures_ = nullptr;
std::string Download::skip_reason_;
std::string Download::setup_error_;

TEST_F(Download, FetchesEveryShardRetriesABrokenBodyAndRerunsFetchNothing) {
  ShardServer server(fixtures_->path);
  server.break_first_body("shard_00001.parquet");
  HostResult first = download(server.base_url(), 3);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(names_in(parquet_dir()),
            (std::vector<std::string>{"shard_00000.parquet", "shard_00001.parquet", "shard_00002.parquet"}));
  for (const std::string name : {"shard_00000.parquet", "shard_00001.parquet", "shard_00002.parquet"}) {
    EXPECT_TRUE(same_bytes(parquet_dir() / name, fixture(name)));
  }
  EXPECT_EQ(server.requests("shard_00000.parquet"), 1);
  EXPECT_EQ(server.requests("shard_00001.parquet"), 2) << "the broken body should be fetched once more";
  EXPECT_EQ(server.requests("shard_00002.parquet"), 1);
  EXPECT_EQ(lines_with(first.err, "shard_00001.parquet: attempt 1/3 failed").size(), 1u) << first.err;
  EXPECT_NE(first.out.find("downloaded 3 shards"), std::string::npos) << first.out;

  // A temp file that a killed run left behind goes; complete shards are not asked for again.
  const fs::path abandoned = parquet_dir() / (".shard_00002.parquet.tmp." + std::to_string(dead_pid()) + ".0123456789abcdef");
  std::ofstream(abandoned) << "half a shard";
  const int requests_before = server.total_requests();
  HostResult again = download(server.base_url(), 3);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(server.total_requests(), requests_before) << "a rerun asked the server for complete shards";
  EXPECT_NE(again.out.find("downloaded 0 shards (0.0 MB)"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("3 already complete"), std::string::npos) << again.out;
  EXPECT_FALSE(fs::exists(abandoned));

  // The data stage reads the folder: every document of the three shards, none twice.
  HostResult tokenizer = nanochat({"run", "tokenizer", "--corpus", fixture("documents.jsonl").string(), "--vocab-size",
                                   "300", "--threads", "1"});
  ASSERT_EQ(tokenizer.exit_code, 0) << tokenizer.err;
  HostResult data = nanochat({"run", "data", "--corpus", parquet_dir().string(), "--threads", "1"});
  ASSERT_EQ(data.exit_code, 0) << data.err;
  EXPECT_NE(data.out.find("tokenized " + std::to_string(3 * kRowsPerShard) + " documents"), std::string::npos)
      << data.out;
}

TEST_F(Download, AShardCutShortEveryTimeFailsAndNeverAppearsUnderItsName) {
  ShardServer server(fixtures_->path);
  server.truncate_always("shard_00002.parquet");
  HostResult r = download(server.base_url(), 3);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(server.requests("shard_00002.parquet"), 3) << "one attempt and two retries";
  const std::vector<std::string> error = lines_with(r.err, "nanochat: error:");
  ASSERT_EQ(error.size(), 1u) << r.err;
  EXPECT_NE(error[0].find("1 of 3 shards failed after up to 3 attempts each: shard_00002.parquet"), std::string::npos)
      << error[0];
  EXPECT_NE(error[0].find("not a complete Parquet file"), std::string::npos) << error[0];
  // The others arrived; no temp file is left behind.
  EXPECT_EQ(names_in(parquet_dir()), (std::vector<std::string>{"shard_00000.parquet", "shard_00001.parquet"}));
  EXPECT_TRUE(same_bytes(parquet_dir() / "shard_00001.parquet", fixture("shard_00001.parquet")));
}

TEST_F(Download, AnUnreachableHostIsOneClearLine) {
  // A port bound but not listening refuses connections, and no one else can take it meanwhile.
  const int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(socket_fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string origin = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  HostResult r = download(origin + "/", 3);
  ::close(socket_fd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> error = lines_with(r.err, "nanochat: error:");
  ASSERT_EQ(error.size(), 1u) << r.err;
  EXPECT_EQ(error[0].rfind("nanochat: error: cannot reach " + origin + ": connection refused", 0), 0u) << error[0];
  EXPECT_NE(error[0].find("check --base-url and the network (3 of 3 shards missing)"), std::string::npos) << error[0];
  EXPECT_TRUE(names_in(parquet_dir()).empty());
}

// HTTPS is built in and checks certificates: a server whose certificate nobody vouches for
// (self-signed, made here with the openssl tool) is refused before any request is sent.
TEST_F(Download, HttpsRefusesACertificateNobodyVouchesFor) {
  const fs::path cert = scratch_.path / "cert.pem";
  const fs::path key = scratch_.path / "key.pem";
  const int made = nanochat::run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                          "-subj", "/CN=127.0.0.1", "-keyout", key.string(), "-out", cert.string()});
  if (made != 0) GTEST_SKIP() << "the openssl tool cannot make a test certificate (exit " << made << ")";
  httplib::SSLServer server(cert.c_str(), key.c_str());
  ASSERT_TRUE(server.is_valid());
  std::atomic<int> requests{0};
  server.Get(".*", [&](const httplib::Request&, httplib::Response& response) {
    ++requests;
    response.set_content("not a shard", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  const std::string origin = "https://127.0.0.1:" + std::to_string(port);

  HostResult r = download(origin + "/", 1);
  server.stop();
  thread.join();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(requests, 0);
  const std::vector<std::string> error = lines_with(r.err, "nanochat: error:");
  ASSERT_EQ(error.size(), 1u) << r.err;
  EXPECT_NE(error[0].find("TLS with " + origin + " failed (SSLServerVerification error)"), std::string::npos)
      << error[0];
  EXPECT_TRUE(names_in(parquet_dir()).empty());
}

TEST_F(Download, BadOptionsAreUsageErrors) {
  HostResult zero = download("http://127.0.0.1:1/", 0);
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("--num-shards must be -1 (all) or 1 .. 1823, not 0"), std::string::npos) << zero.err;
  HostResult ftp = download("ftp://example.org/shards", 3);
  EXPECT_EQ(ftp.exit_code, 2);
  EXPECT_NE(ftp.err.find("'ftp://example.org/shards' is not an http:// or https:// URL"), std::string::npos) << ftp.err;
}

}  // namespace

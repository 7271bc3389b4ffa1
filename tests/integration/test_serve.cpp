// The serve stage as users meet it: a real `nanochat run serve` process on a loopback port
// and real HTTP. Streaming and non-streaming replies parse; OpenAI's shapes pass a strict
// check of field names and types; every guard answers 400 with an OpenAI error body; 50
// concurrent streams all finish; a full queue answers 503; a client that hangs up frees
// its worker; --api-key is enforced; other origins get CORS headers only with --cors; a 500
// never shows the exception's text; UTF-8 (CJK, emoji) is never split in a stream; the run
// report is served at /report with its plots.
// The models are trained in the suite's set-up through the real host, on real text.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "host_process.hpp"
#include "internal_error.hpp"
#include "nanochat/utf8.hpp"
#include "reply_shapes.hpp"
#include "serve_process.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::ScratchDir;
using nanochat::test::ServeProcess;
using nanochat::test::SseReply;
using nlohmann::json;

namespace {

const fs::path kShared = NANOCHAT_TEST_SHARED_DIR;
const std::string kHost = NANOCHAT_TEST_HOST;

// The English model: big enough that a long greedy reply takes seconds (so a test can act
// while a worker is busy), small enough to train in seconds. Context 256 tokens.
const std::vector<std::string> kEnglishModel = {"--depth", "4", "--max-seq-len", "256", "--device-batch-size", "1",
                                                "--total-batch-size", "256", "--num-iterations", "5"};
// The UTF-8 model learns from CJK and emoji text that the English tokenizer splits into
// byte tokens, so nearly every character it writes spans several tokens.
const std::vector<std::string> kUtf8Model = {"--depth", "1", "--max-seq-len", "64", "--device-batch-size", "4",
                                             "--total-batch-size", "256", "--num-iterations", "40"};

// ---- strict OpenAI shape checks: exactly these fields, of these JSON types ----

enum class Kind { string, integer, boolean, null, object, array, string_or_null };

bool is_kind(const json& value, Kind kind) {
  switch (kind) {
    case Kind::string: return value.is_string();
    case Kind::integer: return value.is_number_integer();
    case Kind::boolean: return value.is_boolean();
    case Kind::null: return value.is_null();
    case Kind::object: return value.is_object();
    case Kind::array: return value.is_array();
    case Kind::string_or_null: return value.is_string() || value.is_null();
  }
  return false;
}

void expect_fields(const json& object, const std::map<std::string, Kind>& fields, const std::string& what) {
  ASSERT_TRUE(object.is_object()) << what << " is not an object: " << object.dump();
  for (const auto& [name, kind] : fields) {
    ASSERT_TRUE(object.contains(name)) << what << " lacks '" << name << "': " << object.dump();
    EXPECT_TRUE(is_kind(object[name], kind)) << what << "." << name << " has the wrong type: " << object.dump();
  }
  for (const auto& [name, value] : object.items()) {
    EXPECT_TRUE(fields.count(name)) << what << " has an unexpected field '" << name << "': " << object.dump();
  }
}

void expect_usage(const json& usage) {
  expect_fields(usage, {{"prompt_tokens", Kind::integer}, {"completion_tokens", Kind::integer}, {"total_tokens", Kind::integer}},
                "usage");
  EXPECT_GT(usage["prompt_tokens"].get<int64_t>(), 0);
  EXPECT_EQ(usage["total_tokens"], usage["prompt_tokens"].get<int64_t>() + usage["completion_tokens"].get<int64_t>());
}

void expect_finish_reason(const json& reason) {
  ASSERT_TRUE(reason.is_string()) << reason.dump();
  EXPECT_TRUE(reason == "stop" || reason == "length") << reason.dump();
}

void expect_completion(const json& body, const std::string& model) {
  expect_fields(body, {{"id", Kind::string}, {"object", Kind::string}, {"created", Kind::integer}, {"model", Kind::string},
                       {"choices", Kind::array}, {"usage", Kind::object}},
                "chat.completion");
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], model);
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(body["choices"].size(), 1u);
  const json& choice = body["choices"][0];
  expect_fields(choice, {{"index", Kind::integer}, {"message", Kind::object}, {"logprobs", Kind::null}, {"finish_reason", Kind::string}},
                "choice");
  EXPECT_EQ(choice["index"], 0);
  expect_fields(choice["message"], {{"role", Kind::string}, {"content", Kind::string}}, "message");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  expect_finish_reason(choice["finish_reason"]);
  expect_usage(body["usage"]);
}

// Checks a whole OpenAI stream and returns the text of its content deltas.
std::string expect_openai_stream(const SseReply& reply, const std::string& model, bool with_usage) {
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type.rfind("text/event-stream", 0), 0u) << reply.content_type;
  const size_t tail = with_usage ? 3 : 2;  // finish chunk, [usage chunk], [DONE]
  if (reply.data.size() < tail + 1) {
    ADD_FAILURE() << "too few events: " << reply.data.size();
    return "";
  }
  EXPECT_EQ(reply.data.back(), "[DONE]");
  std::string text, id;
  for (size_t i = 0; i + 1 < reply.data.size(); ++i) {
    json chunk = json::parse(reply.data[i]);
    const bool usage_chunk = with_usage && i + 2 == reply.data.size();
    std::map<std::string, Kind> fields = {{"id", Kind::string}, {"object", Kind::string}, {"created", Kind::integer},
                                          {"model", Kind::string}, {"choices", Kind::array}};
    if (usage_chunk) fields["usage"] = Kind::object;
    expect_fields(chunk, fields, "chunk " + std::to_string(i));
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["model"], model);
    if (id.empty()) id = chunk["id"].get<std::string>();
    EXPECT_EQ(chunk["id"], id) << "every chunk of a reply has the reply's id";
    if (usage_chunk) {
      EXPECT_TRUE(chunk["choices"].empty());
      expect_usage(chunk["usage"]);
      continue;
    }
    EXPECT_EQ(chunk["choices"].size(), 1u);
    const json& choice = chunk["choices"][0];
    expect_fields(choice, {{"index", Kind::integer}, {"delta", Kind::object}, {"logprobs", Kind::null},
                           {"finish_reason", Kind::string_or_null}},
                  "chunk choice");
    const json& delta = choice["delta"];
    const bool last = i + tail == reply.data.size();
    if (i == 0) {
      expect_fields(delta, {{"role", Kind::string}, {"content", Kind::string}}, "first delta");
      EXPECT_EQ(delta["role"], "assistant");
    } else if (last) {
      EXPECT_TRUE(delta.empty()) << delta.dump();
      expect_finish_reason(choice["finish_reason"]);
    } else {
      expect_fields(delta, {{"content", Kind::string}}, "delta");
      EXPECT_TRUE(choice["finish_reason"].is_null());
      text += delta["content"].get<std::string>();
    }
  }
  return text;
}

void expect_error_body(const std::string& body, const std::string& expected_message, const std::string& expected_param = "") {
  json parsed = json::parse(body, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << body;
  expect_fields(parsed, {{"error", Kind::object}}, "error body");
  const json& error = parsed["error"];
  expect_fields(error, {{"message", Kind::string}, {"type", Kind::string}, {"param", Kind::string_or_null}, {"code", Kind::string_or_null}},
                "error");
  EXPECT_NE(error["message"].get<std::string>().find(expected_message), std::string::npos) << error["message"];
  if (!expected_param.empty()) EXPECT_EQ(error["param"], expected_param) << body;
}

// Collects nanochat's {"token"} events, checking the shape, and returns the joined text.
std::string expect_nanochat_stream(const SseReply& reply) {
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type.rfind("text/event-stream", 0), 0u) << reply.content_type;
  if (reply.data.empty()) {
    ADD_FAILURE() << "no events";
    return "";
  }
  EXPECT_EQ(json::parse(reply.data.back()), json({{"done", true}}));
  std::string text;
  for (size_t i = 0; i + 1 < reply.data.size(); ++i) {
    json event = json::parse(reply.data[i]);
    expect_fields(event, {{"token", Kind::string}, {"gpu", Kind::integer}}, "event");
    text += event["token"].get<std::string>();
  }
  return text;
}

json chat(const std::string& user, json extra = json::object()) {
  extra["messages"] = json::array({{{"role", "user"}, {"content", user}}});
  return extra;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// A JSONL corpus of CJK and emoji text (deterministic), for the UTF-8 model.
void write_utf8_corpus(const fs::path& file) {
  const std::vector<std::string> chars = {"的", "一", "是", "不", "了", "人", "我", "在", "有", "他", "这", "中", "大", "来",
                                          "上", "国", "个", "到", "说", "们", "日", "本", "語", "한", "국", "어", "😀", "🚀",
                                          "🌸", "👍", "🎉", "🐱", "，", "。", " "};
  std::mt19937 random(7);
  std::ofstream out(file);
  for (int doc = 0; doc < 3000; ++doc) {
    std::string text;
    for (int i = 0; i < 120; ++i) text += chars[random() % chars.size()];
    out << json({{"text", text}}).dump() << "\n";
  }
}

class ServeTest : public ::testing::Test {
 protected:
  static inline ScratchDir* scratch = nullptr;
  static inline ServeProcess* shared_server = nullptr;
  static inline std::string model_id;
  static inline std::string skip_reason;

  static void SetUpTestSuite() {
    fs::path corpus = kShared / "data" / "pretrain_nltk_modern";
    if (!fs::exists(corpus)) {
      skip_reason = "no " + corpus.string() + " (the shared data folder is not beside the checkout)";
      return;
    }
    scratch = new ScratchDir();
    fs::path utf8_corpus = scratch->path / "utf8.jsonl";
    write_utf8_corpus(utf8_corpus);
    const std::string utf8_data = (scratch->path / "utf8_data").string();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"run", "tokenizer", "--corpus", corpus.string(), "--vocab-size", "512", "--max-chars", "2000000"},
             {"run", "data", "--corpus", corpus.string(), "--max-chars", "2000000"},
             pretrain(kEnglishModel, "serve_test", ""),
             {"run", "data", "--corpus", utf8_corpus.string(), "--out-dir", utf8_data},
             pretrain(kUtf8Model, "utf8", utf8_data)}) {
      HostResult r = nanochat::test::run_host(kHost, args, env());
      ASSERT_EQ(r.exit_code, 0) << args[1] << ": " << r.err;
    }
    shared_server = start({"--model-tag", "serve_test", "--workers", "2", "--queue-size", "64"}, "shared");
    auto models = shared_server->client().Get("/v1/models");
    ASSERT_TRUE(models);
    model_id = json::parse(models->body)["data"][0]["id"].get<std::string>();
  }

  static void TearDownTestSuite() {
    delete shared_server;
    shared_server = nullptr;
    delete scratch;
    scratch = nullptr;
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_NE(shared_server, nullptr) << "the suite set-up failed";
    ASSERT_TRUE(shared_server->running()) << shared_server->log();
  }

  static std::vector<std::pair<std::string, std::string>> env() {
    return {{"NANOCHAT_BASE_DIR", (scratch->path / "base").string()}, {"NANOCHAT_PLUGIN_PATH", ""}, {"OMP_NUM_THREADS", "1"},
            {"NANOCHAT_API_KEY", ""}};
  }

  static std::vector<std::string> pretrain(const std::vector<std::string>& model, const std::string& tag, const std::string& data) {
    std::vector<std::string> args = {"run", "pretrain", "--eval-every", "-1", "--sample-every", "-1", "--model-tag", tag,
                                     "--device", "cpu", "--dtype", "fp32"};
    args.insert(args.end(), model.begin(), model.end());
    if (!data.empty()) args.insert(args.end(), {"--data-dir", data});
    return args;
  }

  static ServeProcess* start(std::vector<std::string> args, const std::string& name) {
    args.insert(args.end(), {"--source", "base", "--device", "cpu"});
    return new ServeProcess(kHost, args, env(), scratch->path / (name + ".log"));
  }

  static json stats(ServeProcess& server) {
    auto response = server.client().Get("/stats");
    return response ? json::parse(response->body) : json();
  }
};

TEST_F(ServeTest, HealthStatsModelsAndThePage) {
  auto client = shared_server->client();
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  json h = json::parse(health->body);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["ready"], true);
  EXPECT_EQ(h["available_workers"], 2);
  EXPECT_EQ(h["model"], model_id);  // the chat page shows which checkpoint answers

  json s = stats(*shared_server);
  EXPECT_EQ(s["total_workers"], 2);
  EXPECT_EQ(s["workers"].size(), 2u);
  EXPECT_EQ(s["workers"][0]["device"], "cpu");
  EXPECT_EQ(s["model"], model_id);

  auto models = client.Get("/v1/models");
  ASSERT_TRUE(models);
  json m = json::parse(models->body);
  expect_fields(m, {{"object", Kind::string}, {"data", Kind::array}}, "model list");
  ASSERT_EQ(m["data"].size(), 1u);
  expect_fields(m["data"][0], {{"id", Kind::string}, {"object", Kind::string}, {"created", Kind::integer}, {"owned_by", Kind::string}},
                "model");
  EXPECT_EQ(m["data"][0]["object"], "model");
  EXPECT_NE(model_id.find("serve_test"), std::string::npos) << model_id;

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(page->body.find("<textarea"), std::string::npos);
  EXPECT_NE(page->body.find("name=\"viewport\""), std::string::npos) << "readable on a phone";
  EXPECT_EQ(page->body.find("src=\"http"), std::string::npos) << "no CDN";
  EXPECT_EQ(page->body.find("href=\"http"), std::string::npos) << "no CDN";

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  expect_error_body(missing->body, "no route GET /nope");
}

TEST_F(ServeTest, NanochatStreamParses) {
  auto client = shared_server->client();
  SseReply reply = nanochat::test::post_sse(client, "/chat/completions", chat("Hello there", {{"max_tokens", 12}}).dump());
  std::string text = expect_nanochat_stream(reply);
  EXPECT_FALSE(text.empty());
  EXPECT_LE(reply.data.size(), 13u);
}

TEST_F(ServeTest, OpenAIStreamIsStrictlyShaped) {
  auto client = shared_server->client();
  json body = chat("Tell me a story", {{"model", model_id}, {"stream", true}, {"max_tokens", 10}, {"temperature", 0}});
  SseReply plain = nanochat::test::post_sse(client, "/v1/chat/completions", body.dump());
  std::string streamed = expect_openai_stream(plain, model_id, false);
  body["stream_options"] = {{"include_usage", true}};
  SseReply with_usage = nanochat::test::post_sse(client, "/v1/chat/completions", body.dump());
  EXPECT_EQ(expect_openai_stream(with_usage, model_id, true), streamed) << "greedy replies repeat";
  json usage = json::parse(with_usage.data[with_usage.data.size() - 2])["usage"];
  EXPECT_EQ(usage["completion_tokens"], 10);

  // Not streamed: the same greedy text, with usage.
  body.erase("stream_options");
  body["stream"] = false;
  auto at_once = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(at_once);
  ASSERT_EQ(at_once->status, 200) << at_once->body;
  EXPECT_EQ(at_once->get_header_value("Content-Type"), "application/json");
  json completion = json::parse(at_once->body);
  expect_completion(completion, model_id);
  EXPECT_EQ(completion["choices"][0]["message"]["content"], streamed);
  EXPECT_EQ(completion["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(completion["usage"]["completion_tokens"], 10);
}

TEST_F(ServeTest, SeedsRepeatAndSamplingFieldsAreUsed) {
  auto client = shared_server->client();
  auto reply = [&](json extra) {
    auto r = client.Post("/v1/chat/completions", chat("Once upon a time", std::move(extra)).dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    return r ? json::parse(r->body) : json();
  };
  json a = reply({{"seed", 123}, {"temperature", 1.5}, {"top_k", 200}, {"max_completion_tokens", 20}});
  json b = reply({{"seed", 123}, {"temperature", 1.5}, {"top_k", 200}, {"max_completion_tokens", 20}});
  expect_completion(a, model_id);
  EXPECT_EQ(a["choices"][0]["message"]["content"], b["choices"][0]["message"]["content"]);
  EXPECT_LE(a["usage"]["completion_tokens"].get<int>(), 20);
  // A system message first is accepted (OpenAI clients send one) and counted in the prompt.
  json with_system = chat("Once upon a time", {{"max_tokens", 1}});
  with_system["messages"].insert(with_system["messages"].begin(), json::object({{"role", "system"}, {"content", "Be brief."}}));
  auto r = client.Post("/v1/chat/completions", with_system.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_GT(json::parse(r->body)["usage"]["prompt_tokens"].get<int>(), a["usage"]["prompt_tokens"].get<int>());
}

TEST_F(ServeTest, EveryGuardAnswers400WithAClearMessage) {
  struct Case {
    std::string body, message, param;
  };
  auto user = [](const std::string& text) { return json({{"role", "user"}, {"content", text}}); };
  auto assistant = [](const std::string& text) { return json({{"role", "assistant"}, {"content", text}}); };
  json too_many = json::array();
  for (int i = 0; i < 501; ++i) too_many.push_back(i % 2 ? assistant("a") : user("u"));
  json too_long_total = json::array();
  for (int i = 0; i < 5; ++i) too_long_total.push_back(i % 2 ? assistant(std::string(7000, 'a')) : user(std::string(7000, 'u')));
  auto with = [](json messages, json extra = json::object()) {
    extra["messages"] = std::move(messages);
    return extra.dump();
  };
  const json hello = json::array({user("hello")});
  const std::vector<Case> cases = {
      {"{\"messages\": [", "not valid JSON", ""},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", "ill-formed UTF-8", ""},
      {"[1, 2]", "must be a JSON object", ""},
      {"{}", "'messages' is required", "messages"},
      {with("hi"), "'messages' must be an array", "messages"},
      {with(json::array()), "must not be empty", "messages"},
      {with(too_many), "too many messages: 501", "messages"},
      {with(json::array({42})), "messages[0] must be an object", "messages[0]"},
      {with(json::array({{{"content", "hi"}}})), "messages[0].role must be a string", "messages[0].role"},
      {with(json::array({{{"role", "tool"}, {"content", "hi"}}})), "must be 'user' or 'assistant'", "messages[0].role"},
      {with(json::array({user("a"), assistant("b"), {{"role", "system"}, {"content", "c"}}})), "only as the first message",
       "messages[2].role"},
      {with(json::array({user("a"), user("b")})), "roles alternate", "messages[1].role"},
      {with(json::array({assistant("a")})), "must be 'user'", "messages[0].role"},
      {with(json::array({user("a"), assistant("b")})), "the last message must be the user's", "messages"},
      {with(json::array({{{"role", "user"}}})), "messages[0].content is required", "messages[0].content"},
      {with(json::array({user("")})), "must not be empty", "messages[0].content"},
      {with(json::array({{{"role", "user"}, {"content", 7}}})), "must be a string", "messages[0].content"},
      {with(json::array({user(std::string(8001, 'x'))})), "too long: 8001 characters (at most 8000)", "messages[0].content"},
      {with(too_long_total), "the conversation is too long: 35000 characters (at most 32000)", "messages"},
      {with(json::array({user(repeat("The quick brown fox jumps over the lazy dog. ", 60))})), "too long for the model",
       "messages"},
      {with(hello, {{"temperature", -0.1}}), "'temperature' must be between 0 and 2", "temperature"},
      {with(hello, {{"temperature", 2.5}}), "'temperature' must be between 0 and 2", "temperature"},
      {with(hello, {{"temperature", "hot"}}), "'temperature' must be a number", "temperature"},
      {with(hello, {{"top_k", 0}}), "'top_k' must be between 1 and 200", "top_k"},
      {with(hello, {{"top_k", 201}}), "'top_k' must be between 1 and 200", "top_k"},
      {with(hello, {{"top_k", 1.5}}), "'top_k' must be an integer", "top_k"},
      {with(hello, {{"max_tokens", 0}}), "'max_tokens' must be between 1 and 4096", "max_tokens"},
      {with(hello, {{"max_tokens", 4097}}), "'max_tokens' must be between 1 and 4096", "max_tokens"},
      {with(hello, {{"max_completion_tokens", -5}}), "'max_completion_tokens' must be between 1 and 4096",
       "max_completion_tokens"},
      {with(hello, {{"n", 2}}), "only n=1", "n"},
      {with(hello, {{"stream", "yes"}}), "'stream' must be true or false", "stream"},
      {with(hello, {{"seed", -1}}), "'seed' must be between 0", "seed"},
  };
  auto client = shared_server->client();
  for (const std::string path : {"/chat/completions", "/v1/chat/completions"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(path + " " + c.body.substr(0, 120));
      auto r = client.Post(path, c.body, "application/json");
      ASSERT_TRUE(r) << "no answer";
      EXPECT_EQ(r->status, 400);
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
      expect_error_body(r->body, c.message, c.param);
    }
  }
  EXPECT_GE(stats(*shared_server)["requests"]["invalid"].get<size_t>(), 2 * cases.size());
  EXPECT_TRUE(shared_server->running());
}

TEST_F(ServeTest, FiftyConcurrentStreamsAllFinish) {
  constexpr int kStreams = 50;
  std::atomic<int> finished{0};
  std::vector<std::string> failures(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto client = shared_server->client();
      const bool openai = i % 2 == 1;
      json body = chat("Stream number " + std::to_string(i), {{"max_tokens", 16}, {"stream", true}});
      SseReply reply = nanochat::test::post_sse(client, openai ? "/v1/chat/completions" : "/chat/completions", body.dump());
      const bool done = !reply.data.empty() && (openai ? reply.data.back() == "[DONE]" : reply.data.back() == R"({"done":true})");
      if (reply.status == 200 && done) {
        ++finished;
      } else {
        failures[i] = "status " + std::to_string(reply.status) + " " + reply.body + reply.error;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kStreams; ++i) EXPECT_TRUE(failures[i].empty()) << "stream " << i << ": " << failures[i];
  EXPECT_EQ(finished, kStreams) << shared_server->log();
  ASSERT_TRUE(shared_server->running()) << shared_server->log();
  auto health = shared_server->client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  json s = stats(*shared_server);
  EXPECT_EQ(s["busy_workers"], 0);
  EXPECT_EQ(s["queued_requests"], 0);
}

// One worker and no queue: while a long reply streams, another request is refused with
// 503; when its client hangs up, generation stops and the worker serves the next request.
TEST_F(ServeTest, FullQueueAnswers503AndAClientThatLeavesFreesItsWorker) {
  std::unique_ptr<ServeProcess> server(start({"--model-tag", "serve_test", "--workers", "1", "--queue-size", "0"}, "one_worker"));
  auto client = server->client();
  // Greedy decoding of this model does not stop early: a reply of up to 4096 tokens.
  json long_reply = chat("Keep talking", {{"temperature", 0}, {"max_tokens", 4096}});
  int refused_status = 0;
  std::string refused_body;
  SseReply reply = nanochat::test::post_sse(client, "/chat/completions", long_reply.dump(), {}, [&](const std::string&) {
    if (refused_status != 0) return false;  // hang up on the next event
    auto other = server->client().Post("/chat/completions", chat("me too").dump(), "application/json");
    refused_status = other ? other->status : -1;
    refused_body = other ? other->body : "";
    return true;
  });
  EXPECT_TRUE(reply.hung_up);
  EXPECT_EQ(refused_status, 503);
  expect_error_body(refused_body, "the server is busy");

  // The worker comes back long before the 4096-token reply could have finished.
  json s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = stats(*server);
  } while (s["available_workers"] != 1 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(s["available_workers"], 1) << s.dump();
  EXPECT_EQ(s["requests"]["cancelled"], 1) << s.dump();
  EXPECT_EQ(s["requests"]["completed"], 0) << "the long reply must have been cut short: " << s.dump();
  EXPECT_EQ(s["requests"]["rejected"], 1) << s.dump();

  SseReply next = nanochat::test::post_sse(client, "/chat/completions", chat("Hello again", {{"max_tokens", 4}}).dump());
  EXPECT_FALSE(expect_nanochat_stream(next).empty());
  EXPECT_TRUE(server->running());
}

TEST_F(ServeTest, ApiKeyIsEnforced) {
  std::unique_ptr<ServeProcess> server(start({"--model-tag", "serve_test", "--api-key", "s3cret"}, "api_key"));
  auto client = server->client();
  const httplib::Headers good = {{"Authorization", "Bearer s3cret"}};
  const httplib::Headers wrong = {{"Authorization", "Bearer s3cre"}};
  const std::string body = chat("hi", {{"max_tokens", 2}}).dump();

  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "the health check needs no key";
  for (const std::string path : {"/v1/models", "/stats"}) {
    for (const auto& headers : {httplib::Headers{}, wrong}) {
      auto r = client.Get(path.c_str(), headers);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 401) << path;
      expect_error_body(r->body, "API key");
    }
    auto r = client.Get(path.c_str(), good);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
  for (const std::string path : {"/chat/completions", "/v1/chat/completions"}) {
    auto refused = client.Post(path.c_str(), wrong, body, "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << path;
    auto missing = client.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 401) << path;
    auto accepted = client.Post(path.c_str(), good, body, "application/json");
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->status, 200) << path;
  }
}

TEST_F(ServeTest, CorsHeadersOnlyWithTheFlag) {
  auto client = shared_server->client();
  auto models = client.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  EXPECT_FALSE(models->has_header("Access-Control-Allow-Origin")) << "CORS is off unless --cors";
  auto preflight = client.Options("/v1/chat/completions");
  ASSERT_TRUE(preflight);
  EXPECT_NE(preflight->status, 204);
  EXPECT_FALSE(preflight->has_header("Access-Control-Allow-Methods"));

  std::unique_ptr<ServeProcess> server(start({"--model-tag", "serve_test", "--cors", "--api-key", "k"}, "cors"));
  auto cors_client = server->client();
  const httplib::Headers key = {{"Authorization", "Bearer k"}};
  auto allowed = cors_client.Get("/v1/models", key);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), "*");
  // A browser's preflight carries no key; it is answered so the real request can follow.
  auto cors_preflight = cors_client.Options("/v1/chat/completions");
  ASSERT_TRUE(cors_preflight);
  EXPECT_EQ(cors_preflight->status, 204);
  EXPECT_NE(cors_preflight->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  auto completion = cors_client.Post("/v1/chat/completions", key, chat("hi", {{"max_tokens", 2}}).dump(), "application/json");
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 200);
  EXPECT_EQ(completion->get_header_value("Access-Control-Allow-Origin"), "*");
}

// GET /report renders report/report.md (read at each request, so a report made while the
// server runs shows on reload) and /report/<name>.svg serves its plots; nothing else under
// or beside report/ can be read through it.
TEST_F(ServeTest, ReportPageAndPlots) {
  auto client = shared_server->client();
  auto missing = client.Get("/report");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no report yet: run `nanochat run report`"), std::string::npos) << missing->body;
  EXPECT_NE(client.Get("/")->body.find("href=\"report\""), std::string::npos) << "the chat page links to the report";

  const fs::path report_dir = scratch->path / "base" / "report";
  fs::create_directories(report_dir);
  std::ofstream(report_dir / "report.md") << "# nanochat training report\n\n## Base model training\n- depth: <4>\n\n"
                                             "![loss](base-model-training-training-loss.svg)\n\n| Metric | BASE |\n|---|---|\n| CORE-20 | 0.2 |\n";
  std::ofstream(report_dir / "base-model-training-training-loss.svg") << "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n";
  std::ofstream(report_dir / "secret.md") << "not served\n";

  auto page = client.Get("/report");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page->body.find("<h2>Base model training</h2>"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("<li>depth: &lt;4&gt;</li>"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("<img src=\"report/base-model-training-training-loss.svg\" alt=\"loss\">"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("<td>CORE-20</td><td>0.2</td>"), std::string::npos) << page->body;

  auto plot = client.Get("/report/base-model-training-training-loss.svg");
  ASSERT_TRUE(plot);
  EXPECT_EQ(plot->status, 200);
  EXPECT_EQ(plot->get_header_value("Content-Type"), "image/svg+xml");
  EXPECT_EQ(plot->body.rfind("<svg", 0), 0u);
  auto absent = client.Get("/report/none.svg");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->status, 404);
  for (const char* path : {"/report/secret.md", "/report/../report/report.md", "/report/..%2Freport.md", "/report/%2e%2e%2fsecret.svg",
                           "/report/sub/x.svg", "/report/.svg"}) {
    auto refused = client.Get(path);
    ASSERT_TRUE(refused) << path;
    EXPECT_EQ(refused->status, 404) << path;
    EXPECT_EQ(refused->body.find("not served"), std::string::npos) << path;
  }
}

// The UTF-8 model writes CJK and emoji as byte tokens: no event may hold part of a
// character, and the streamed text must equal the unstreamed reply of the same seed.
TEST_F(ServeTest, Utf8IsNeverSplitInAStream) {
  std::unique_ptr<ServeProcess> server(start({"--model-tag", "utf8"}, "utf8"));
  auto client = server->client();
  const std::string utf8_model = json::parse(client.Get("/v1/models")->body)["data"][0]["id"];
  size_t wide_chars = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    json body = chat("你好 🌸", {{"seed", seed}, {"temperature", 1.0}, {"top_k", 200}, {"max_tokens", 48}});
    SseReply nanochat_stream = nanochat::test::post_sse(client, "/chat/completions", body.dump());
    for (const std::string& event : nanochat_stream.data) ASSERT_TRUE(nanochat::is_valid_utf8(event)) << "an event is not valid UTF-8";
    const std::string streamed = expect_nanochat_stream(nanochat_stream);

    body["stream"] = true;
    SseReply openai_stream = nanochat::test::post_sse(client, "/v1/chat/completions", body.dump());
    for (const std::string& event : openai_stream.data) ASSERT_TRUE(nanochat::is_valid_utf8(event));
    EXPECT_EQ(expect_openai_stream(openai_stream, utf8_model, false), streamed);

    body["stream"] = false;
    auto at_once = client.Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_TRUE(at_once && at_once->status == 200);
    EXPECT_EQ(json::parse(at_once->body)["choices"][0]["message"]["content"], streamed)
        << "a character split between events would have become U+FFFD";
    for (size_t at = 0; at < streamed.size();) {
      auto c = nanochat::decode_utf8(reinterpret_cast<const unsigned char*>(streamed.data()) + at, streamed.size() - at);
      wide_chars += c.codepoint >= 0x2E80 && c.codepoint != 0xFFFD;
      at += c.length;
    }
  }
  EXPECT_GE(wide_chars, 20u) << "the model should write CJK and emoji";
}

// What the exception handler sends for a failure nobody refused on purpose: a 500 whose body
// names an id, not the exception's text, which goes to the log beside that id.
TEST(ServeInternalError, TheClientGetsAnIdAndTheLogGetsTheText) {
  const std::string secret = "cannot map /home/alice/models/model_000700.pt: 137438953472 bytes";
  testing::internal::CaptureStderr();
  const nanochat::serve::HttpError error = nanochat::serve::internal_error(std::make_exception_ptr(std::runtime_error(secret)));
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(error.status, 500);
  const std::string body = nanochat::serve::openai_error(error).dump();
  EXPECT_EQ(body.find("alice"), std::string::npos) << body;
  EXPECT_EQ(body.find("137438953472"), std::string::npos) << body;
  expect_error_body(body, "internal server error (id err-");
  const std::string message = error.what();
  const size_t at = message.find("err-");
  ASSERT_NE(at, std::string::npos) << message;
  const std::string id = message.substr(at, 20);  // "err-" and 16 hex digits
  EXPECT_NE(log.find(id), std::string::npos) << log;
  EXPECT_NE(log.find(secret), std::string::npos) << log;

  // Each failure gets its own id, also for a thrown non-std::exception.
  testing::internal::CaptureStderr();
  const nanochat::serve::HttpError other = nanochat::serve::internal_error(std::make_exception_ptr(42));
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::string(other.what()).find(id), std::string::npos);
  EXPECT_EQ(other.code, "internal_error");
}

}  // namespace

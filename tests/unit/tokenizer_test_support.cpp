// Test helpers for corpora and the Python oracle (see tokenizer_test_support.hpp).
#include "tokenizer_test_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "nanochat/corpus.hpp"
#include "nanochat/subprocess.hpp"

namespace fs = std::filesystem;

namespace nanochat::test {

std::optional<fs::path> shared_data_dir() {
  const fs::path dir = fs::path(NANOCHAT_TEST_SHARED_DIR) / "data";
  if (!fs::is_directory(dir / "pretrain_gutenberg")) return std::nullopt;
  return dir;
}

std::vector<std::string> pretrain_documents(const fs::path& data_dir) {
  std::vector<fs::path> corpora;
  for (const auto& entry : fs::directory_iterator(data_dir)) {
    if (entry.path().filename().string().rfind("pretrain_", 0) == 0) corpora.push_back(entry.path());
  }
  std::sort(corpora.begin(), corpora.end());
  CorpusOptions options;
  options.doc_cap = 0;
  CorpusReader reader(corpora, options);
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(doc)) docs.push_back(doc);
  return docs;
}

std::optional<fs::path> oracle_python() {
  if (const char* env = std::getenv("NANOCHAT_ORACLE_PYTHON"); env && *env) {
    if (fs::exists(env)) return fs::path(env);
    return std::nullopt;
  }
  if (const char* home = std::getenv("HOME")) {
    const fs::path venv = fs::path(home) / ".cache/nanochat-cpp/oracle-venv/bin/python";
    if (fs::exists(venv)) return venv;
  }
  return std::nullopt;
}

std::string oracle_missing_message() {
  return "the Python oracle is missing: set NANOCHAT_ORACLE_PYTHON to a python with the packages of "
         "packaging/oracle-requirements.txt (packaging/setup.sh makes ~/.cache/nanochat-cpp/oracle-venv)";
}

void run_oracle(const fs::path& python, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {python.string(),
                                   (fs::path(NANOCHAT_TEST_SOURCE_DIR) / "tests/oracles/tokenizer_oracle.py").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const int code = run_process(argv);
  if (code != 0) throw std::runtime_error("tokenizer_oracle.py " + args.at(0) + " exited with " + std::to_string(code));
}

void write_docs_jsonl(const fs::path& file, const std::vector<std::string>& docs) {
  std::ofstream out(file, std::ios::binary);
  for (const std::string& doc : docs) out << nlohmann::json{{"text", doc}}.dump() << "\n";
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<std::vector<int64_t>> read_int_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<std::vector<int64_t>> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<int64_t> values;
    std::istringstream fields(line);
    for (int64_t v; fields >> v;) values.push_back(v);
    lines.push_back(std::move(values));
  }
  return lines;
}

std::vector<std::string> edge_case_texts() {
  return {
      "",
      "don't",
      "I'LL",
      "we've",
      "they're",
      "'s",
      "'S",
      "'ſ",
      "''s",
      "'re'll",
      "'",
      "x'",
      "'ll've",
      "it's'",
      "O'Neil's",
      "'sound",
      "''",
      "rock'n'roll",
      "1",
      "12",
      "123",
      "12345",
      "1,234.56",
      " 123",
      "a1b2c3",
      "\xd9\xa3\xd9\xa4\xd9\xa5",
      "\xc2\xbd\xe2\x85\x93",
      "\xe2\x85\xab",
      "x\xe2\x81\xb2y",
      "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae 123",
      "hello\xe4\xb8\x96\xe7\x95\x8c"
      "123",
      "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
      "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
      "\xf0\x9f\x99\x82 hi",
      "a\xf0\x9f\x99\x82"
      "b",
      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
      " \xf0\x9f\x99\x82\xf0\x9f\x99\x82\n",
      "line1\r\nline2",
      "\r\n\r\n",
      "a \r\n b",
      "\r",
      " \r\n  x",
      "x\n\n\ny",
      "end.\r\n",
      "\n \n \nword",
      std::string(1000, ' '),
      "   a",
      "a   ",
      "\t\t\tx",
      std::string(50, ' ') + "\n" + std::string(50, ' ') + "word",
      "\xc2\xa0\xc2\xa0x",
      "\xe3\x80\x80x",
      "a\xe2\x80\xa8"
      "b",
      " \xc2\x85x",
      "\x0b\x0c x",
      "\x1c\x1dx",
      "\tword",
      "...!!!",
      " ...\n\n",
      "\xc2\xab"
      "quoted\xc2\xbb",
      "$100",
      "--x",
      "a.b",
      "e\xcc\x81t\xc3\xa9",
      "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
      "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87",
      "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5",
      "<|bos|>hi<|user_start|>",
      "f(x) = x**2 + 3*x; // done\n\tret",
      "snake_case and CamelCase",
      "__init__",
  };
}

}  // namespace nanochat::test

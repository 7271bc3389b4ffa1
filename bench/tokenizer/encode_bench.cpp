// Encode throughput of the bpe tokenizer for bench/tokenizer/run.sh: loads a saved
// tokenizer folder, reads a corpus (whole documents), and times one pass of encode() per
// document on one thread, then one encode_batch() on every core. Prints one JSON line.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "bpe_tokenizer.hpp"
#include "nanochat/corpus.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the process: on a shared machine it tells the work apart from the waiting.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR CORPUS THREADS\n", argv[0]);
    return 2;
  }
  try {
    nanochat::bpe::BpeTokenizer tokenizer;
    tokenizer.load(argv[1]);
    nanochat::CorpusOptions options;
    options.doc_cap = 0;
    nanochat::CorpusReader reader(argv[2], options);
    std::vector<std::string> docs;
    size_t bytes = 0;
    for (std::string doc; reader.next(doc);) {
      bytes += doc.size();
      docs.push_back(std::move(doc));
    }
    const unsigned threads = static_cast<unsigned>(std::stoul(argv[3]));

    // Warm-up on a few documents only, so the chunk cache starts (nearly) cold.
    for (size_t i = 0; i < docs.size() && i < 4; ++i) tokenizer.encode(docs[i], false);

    size_t tokens = 0;
    auto start = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    for (const std::string& doc : docs) tokens += tokenizer.encode(doc, false).size();
    const double single = seconds_since(start);
    const double single_cpu = cpu_seconds() - cpu;

    start = std::chrono::steady_clock::now();
    cpu = cpu_seconds();
    const auto batch = tokenizer.encode_batch(docs, false, std::nullopt, threads);
    const double all_cores = seconds_since(start);
    const double batch_cpu = cpu_seconds() - cpu;

    std::printf(
        "{\"bytes\": %zu, \"tokens\": %zu, \"single_s\": %.4f, \"single_cpu_s\": %.4f, \"batch_s\": %.4f, "
        "\"batch_cpu_s\": %.4f, \"threads\": %u}\n",
        bytes, tokens, single, single_cpu, all_cores, batch_cpu, threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encode_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

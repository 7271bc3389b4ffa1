// What the tokenizer trains on: the corpora given, in order, as one document stream, less
// a held-out tail of each corpus kept for evaluation. Each corpus's last `eval_docs`
// documents are held out (with --max-chars, the documents right after the last one
// trained on), so evaluation never sees text the tokenizer was trained on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nanochat/corpus.hpp"

namespace nanochat::tokenizer_stage {

struct CorpusPart {
  std::filesystem::path path;
  uint64_t train_documents = 0;
  uint64_t train_chars = 0;
  std::vector<std::string> held_out;
};

class TrainingStream : public DocumentSource {
 public:
  // `reader_options.max_chars` is ignored: `max_chars` (0 = no limit) counts training
  // characters only, summed over the corpora, nanochat's way (the crossing document is kept).
  TrainingStream(std::vector<std::filesystem::path> corpora, CorpusOptions reader_options, uint64_t max_chars,
                 size_t eval_docs);

  bool next(std::string& document) override;

  // Per corpus, in order; complete once next() has returned false.
  const std::vector<CorpusPart>& parts() const { return parts_; }
  CorpusStats reader_stats() const { return totals_; }

 private:
  bool open(size_t index);
  void close_current();
  void fill_held_out(size_t index);

  CorpusOptions reader_options_;
  uint64_t max_chars_;
  size_t eval_docs_;
  std::vector<CorpusPart> parts_;
  size_t current_ = 0;
  std::unique_ptr<CorpusReader> reader_;
  std::vector<std::string> ring_;  // held-out candidates of the current corpus, oldest first
  uint64_t train_chars_ = 0;
  CorpusStats totals_;
};

}  // namespace nanochat::tokenizer_stage

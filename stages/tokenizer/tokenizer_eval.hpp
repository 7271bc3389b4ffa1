// Evaluating a trained tokenizer: bytes (and characters) per token on each corpus's
// held-out documents, as a terminal table and as the `tokenizer` section of the report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nanochat/tokenizer.hpp"
#include "training_stream.hpp"

namespace nanochat::tokenizer_stage {

struct EvalRow {
  std::string corpus;
  uint64_t documents = 0;
  uint64_t bytes = 0;
  uint64_t chars = 0;
  uint64_t tokens = 0;

  double bytes_per_token() const { return tokens ? double(bytes) / double(tokens) : 0.0; }
  double chars_per_token() const { return tokens ? double(chars) / double(tokens) : 0.0; }
};

std::vector<EvalRow> evaluate(const Tokenizer& tokenizer, const std::vector<CorpusPart>& parts, unsigned threads);

// A fixed-width table for the terminal.
std::string format_table(const std::vector<EvalRow>& rows);

// What the run did, for the report.
struct TrainingSummary {
  std::string plugin;
  size_t vocab_size = 0;
  size_t special_tokens = 0;
  uint64_t documents = 0;
  uint64_t chars = 0;
  uint64_t doc_cap = 0;
  uint64_t max_chars = 0;
  unsigned threads = 0;
  double train_seconds = 0;
  std::string saved_to;
  std::vector<CorpusPart> corpora;  // held_out left empty
};

// The markdown of report/tokenizer.md.
std::string report_markdown(const TrainingSummary& summary, const std::vector<EvalRow>& rows);

}  // namespace nanochat::tokenizer_stage

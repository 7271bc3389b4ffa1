// Held-out bytes/token and the report section (see tokenizer_eval.hpp).
#include "tokenizer_eval.hpp"

#include <fmt/format.h>

#include "nanochat/utf8.hpp"

namespace nanochat::tokenizer_stage {

std::vector<EvalRow> evaluate(const Tokenizer& tokenizer, const std::vector<CorpusPart>& parts, unsigned threads) {
  std::vector<EvalRow> rows;
  for (const CorpusPart& part : parts) {
    EvalRow row;
    row.corpus = part.path.string();
    row.documents = part.held_out.size();
    for (const std::string& doc : part.held_out) {
      row.bytes += doc.size();
      row.chars += utf8_length(doc);
    }
    for (const auto& ids : tokenizer.encode_batch(part.held_out, false, std::nullopt, threads)) {
      row.tokens += ids.size();
    }
    rows.push_back(row);
  }
  return rows;
}

std::string format_table(const std::vector<EvalRow>& rows) {
  size_t width = 6;
  for (const EvalRow& row : rows) width = std::max(width, row.corpus.size());
  std::string out = fmt::format("{:<{}}  {:>9}  {:>12}  {:>11}  {:>11}  {:>11}\n", "corpus", width, "held-out", "bytes",
                                "tokens", "bytes/token", "chars/token");
  for (const EvalRow& row : rows) {
    out += fmt::format("{:<{}}  {:>9}  {:>12}  {:>11}  {:>11.3f}  {:>11.3f}\n", row.corpus, width, row.documents,
                       row.bytes, row.tokens, row.bytes_per_token(), row.chars_per_token());
  }
  return out;
}

std::string report_markdown(const TrainingSummary& s, const std::vector<EvalRow>& rows) {
  std::string out = "## Tokenizer\n\n";
  out += fmt::format("- plugin: `{}`\n", s.plugin);
  out += fmt::format("- vocabulary: {} tokens ({} special)\n", s.vocab_size, s.special_tokens);
  out +=
      fmt::format("- trained on: {} documents, {} characters (doc cap {}, max chars {})\n", s.documents, s.chars,
                  s.doc_cap ? std::to_string(s.doc_cap) : "none", s.max_chars ? std::to_string(s.max_chars) : "none");
  for (const CorpusPart& part : s.corpora) {
    out += fmt::format("  - `{}`: {} documents, {} characters\n", part.path.string(), part.train_documents,
                       part.train_chars);
  }
  out += fmt::format("- training time: {:.2f} s on {} threads\n", s.train_seconds, s.threads);
  out += fmt::format("- saved to: `{}`\n\n", s.saved_to);
  out += "Held-out documents (never trained on):\n\n";
  out += "| corpus | documents | bytes | tokens | bytes/token | chars/token |\n";
  out += "|---|---:|---:|---:|---:|---:|\n";
  for (const EvalRow& row : rows) {
    out += fmt::format("| `{}` | {} | {} | {} | {:.3f} | {:.3f} |\n", row.corpus, row.documents, row.bytes, row.tokens,
                       row.bytes_per_token(), row.chars_per_token());
  }
  return out;
}

}  // namespace nanochat::tokenizer_stage

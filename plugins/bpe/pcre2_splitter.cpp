// The general splitter: any split pattern through PCRE2 (UTF + UCP, JIT-compiled), as the
// reference the hand-written splitter is tested against and for tokenizer files whose
// pattern is not the default. Invalid UTF-8 never matches (PCRE2_MATCH_INVALID_UTF); such
// bytes, like any other unmatched gap, become chunks of their own.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include <memory>

#include "nanochat/error.hpp"
#include "splitter.hpp"

namespace nanochat::bpe {
namespace {

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

class Pcre2Splitter final : public Splitter {
 public:
  explicit Pcre2Splitter(const std::string& pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr));
    if (!code_) {
      throw Error(fmt::format("split pattern does not compile at offset {}: {} (pattern: {})", offset,
                              pcre2_message(error), pattern));
    }
    // Without JIT (e.g. a CPU PCRE2 has no JIT for) matching still works, only slower.
    pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE);
  }

  void split(std::string_view text, std::vector<size_t>& chunk_ends) const override {
    chunk_ends.clear();
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
      const int rc = pcre2_match(code_.get(), subject, text.size(), pos, 0, match.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) throw Error("split pattern failed to match: " + pcre2_message(rc));
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
      const size_t start = ovector[0];
      size_t end = ovector[1];
      if (start > pos) chunk_ends.push_back(start);
      // An empty match would not advance: take one byte, as a gap.
      if (end == start) end = start + 1;
      chunk_ends.push_back(end);
      pos = end;
    }
    if (pos < text.size()) chunk_ends.push_back(text.size());
  }

 private:
  std::unique_ptr<pcre2_code, CodeDeleter> code_;
};

}  // namespace

std::unique_ptr<Splitter> make_pcre2_splitter(const std::string& pattern) {
  return std::make_unique<Pcre2Splitter>(pattern);
}

}  // namespace nanochat::bpe

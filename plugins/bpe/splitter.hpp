// Pre-tokenization: cutting text into the chunks that BPE merges within. The default
// pattern (SPEC §2, GPT-4's with \p{N}{1,2}) runs on a hand-written splitter; any other
// pattern, e.g. one read from a tokenizer file made elsewhere, runs on PCRE2 with JIT.
// Both are tested against Python's `regex` module, and the fast one against PCRE2.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nanochat::bpe {

extern const char* const kSplitPattern;

class Splitter {
 public:
  virtual ~Splitter() = default;

  // Replaces `chunk_ends` with the end offset of each chunk of `text`, in order. The chunks
  // cover `text` exactly: bytes a pattern does not match become chunks of their own, so
  // decode(encode(x)) == x for any bytes. Thread-safe.
  virtual void split(std::string_view text, std::vector<size_t>& chunk_ends) const = 0;
};

// The hand-written splitter of kSplitPattern.
std::unique_ptr<Splitter> make_fast_splitter();

// PCRE2 (UTF, UCP, JIT) for any pattern; throws Error naming the pattern when it does not
// compile.
std::unique_ptr<Splitter> make_pcre2_splitter(const std::string& pattern);

// The fast splitter when `pattern` is kSplitPattern, else PCRE2.
std::unique_ptr<Splitter> make_splitter(const std::string& pattern);

}  // namespace nanochat::bpe

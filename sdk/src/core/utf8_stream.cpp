// Holding back an incomplete trailing UTF-8 sequence (see nanochat/utf8_stream.hpp).
#include "nanochat/utf8_stream.hpp"

#include "nanochat/utf8.hpp"

namespace nanochat {
namespace {

// The length of the sequence that lead byte `b` starts (0 for a byte that starts none).
size_t sequence_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// Whether s[0..n) (n < its sequence length) can still become a valid character: every byte
// after the lead is a continuation, and the second byte is in the range the lead allows
// (no overlong forms, surrogates or code points past U+10FFFF).
bool is_viable_prefix(const unsigned char* s, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    if ((s[i] & 0xC0) != 0x80) return false;
  }
  if (n < 2) return true;
  switch (s[0]) {
    case 0xE0: return s[1] >= 0xA0;
    case 0xED: return s[1] <= 0x9F;
    case 0xF0: return s[1] >= 0x90;
    case 0xF4: return s[1] <= 0x8F;
    default: return true;
  }
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  const auto* s = reinterpret_cast<const unsigned char*>(pending_.data());
  const size_t n = pending_.size();
  // The last lead byte decides: if its sequence is cut short but could still complete,
  // keep it (and what follows) for the next push.
  size_t keep_from = n;
  for (size_t i = n; i > 0 && n - i < 4; --i) {
    const size_t length = sequence_length(s[i - 1]);
    if ((s[i - 1] & 0xC0) == 0x80) continue;
    if (length > n - (i - 1) && is_viable_prefix(s + i - 1, n - (i - 1))) keep_from = i - 1;
    break;
  }
  std::string text = repair_utf8(std::string_view(pending_).substr(0, keep_from));
  pending_.erase(0, keep_from);
  return text;
}

std::string Utf8Stream::finish() {
  std::string text = repair_utf8(pending_);
  pending_.clear();
  return text;
}

}  // namespace nanochat

// Streaming text from token bytes without ever splitting a character: a token may end in
// the middle of a UTF-8 sequence (CJK, emoji), so the incomplete tail is held back until
// the next bytes complete it. Better than nanochat's "don't emit if it ends in U+FFFD": a
// byte that can never become valid is emitted as U+FFFD at once instead of stalling.
#pragma once

#include <string>
#include <string_view>

namespace nanochat {

class Utf8Stream {
 public:
  // Appends bytes; returns the text that is now complete: valid UTF-8, invalid bytes
  // replaced by U+FFFD, without a trailing sequence that later bytes could still complete.
  std::string push(std::string_view bytes);
  // Ends the stream: what is held back, each of its bytes as U+FFFD.
  std::string finish();
  // Bytes held back (0..3).
  size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace nanochat

// UTF-8 counting, prefixes and repair (see nanochat/utf8.hpp).
#include "nanochat/utf8.hpp"

namespace nanochat {

uint64_t utf8_length(std::string_view text) {
  uint64_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

size_t utf8_prefix_bytes(std::string_view text, uint64_t max_chars) {
  uint64_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == max_chars) return i;
  }
  return text.size();
}

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const DecodedChar c = decode_utf8(s + i, text.size() - i);
    if (c.codepoint == 0xFFFD && c.length == 1) return false;
    i += c.length;
  }
  return true;
}

std::string repair_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const DecodedChar c = decode_utf8(s + i, text.size() - i);
    if (c.codepoint == 0xFFFD && c.length == 1) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(text.substr(i, c.length));
    }
    i += c.length;
  }
  return out;
}

}  // namespace nanochat

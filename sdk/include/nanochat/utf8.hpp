// UTF-8 helpers for text handling: a decoder that never fails (an invalid byte decodes as
// one U+FFFD of length 1, so a scan always advances), character counts and prefixes in
// code points (as Python's len() and slicing count), and repair of invalid input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nanochat {

struct DecodedChar {
  uint32_t codepoint;  // U+FFFD for an invalid byte
  uint32_t length;     // bytes, 1..4
};

// Decodes the character at s[0] (n > 0 bytes available), rejecting overlong forms,
// surrogates and code points above U+10FFFF as RFC 3629 does.
inline DecodedChar decode_utf8(const unsigned char* s, size_t n) {
  const unsigned char b0 = s[0];
  if (b0 < 0x80) return {b0, 1};
  const DecodedChar invalid{0xFFFD, 1};
  auto continuation = [&](size_t i) { return i < n && (s[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!continuation(1)) return invalid;
    return {(uint32_t(b0 & 0x1F) << 6) | (s[1] & 0x3F), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return invalid;
    const uint32_t cp = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid;
    return {cp, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return invalid;
    const uint32_t cp =
        (uint32_t(b0 & 0x07) << 18) | (uint32_t(s[1] & 0x3F) << 12) | (uint32_t(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return invalid;
    return {cp, 4};
  }
  return invalid;
}

// Code points in valid UTF-8 text.
uint64_t utf8_length(std::string_view text);

// Bytes of the first `max_chars` code points of valid UTF-8 text (all of it if shorter).
size_t utf8_prefix_bytes(std::string_view text, uint64_t max_chars);

bool is_valid_utf8(std::string_view text);

// `text` with each invalid byte replaced by U+FFFD.
std::string repair_utf8(std::string_view text);

}  // namespace nanochat

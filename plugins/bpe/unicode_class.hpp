// The character classes the split pattern distinguishes (\p{L}, \p{N}, \s, CR/LF, the
// rest), looked up per code point from tables generated from the test oracle. A byte of
// invalid UTF-8 decodes as U+FFFD (nanochat/utf8.hpp), an "other" character, so any byte
// string splits into chunks that cover it exactly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nanochat/utf8.hpp"

namespace nanochat::bpe {

enum class CharClass : uint8_t {
  letter,   // \p{L}
  number,   // \p{N}
  space,    // \s other than CR and LF
  newline,  // \r or \n
  other,    // everything else, including bytes of invalid UTF-8
};

struct CodepointRange {
  uint32_t first;
  uint32_t last;
};

namespace detail {
extern const CharClass* const bmp_classes;  // 0x10000 entries, filled before main()
CharClass classify_supplementary(uint32_t codepoint);
}  // namespace detail

// Class of a code point (0..0x10FFFF).
inline CharClass classify(uint32_t codepoint) {
  return codepoint < 0x10000 ? detail::bmp_classes[codepoint] : detail::classify_supplementary(codepoint);
}

}  // namespace nanochat::bpe

// Builds the code point class tables of unicode_class.hpp from the generated ranges: a
// flat table for the Basic Multilingual Plane (one load per character on the hot path)
// and a binary search of the ranges above it.
#include "unicode_class.hpp"

#include <algorithm>
#include <array>
#include <iterator>

namespace nanochat::bpe {
namespace {

#include "unicode_classes.inc"

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], uint32_t codepoint) {
  auto it = std::upper_bound(std::begin(ranges), std::end(ranges), codepoint,
                             [](uint32_t cp, const CodepointRange& r) { return cp < r.first; });
  return it != std::begin(ranges) && codepoint <= std::prev(it)->last;
}

CharClass classify_slow(uint32_t codepoint) {
  if (codepoint == '\r' || codepoint == '\n') return CharClass::newline;
  if (in_ranges(kLetterRanges, codepoint)) return CharClass::letter;
  if (in_ranges(kNumberRanges, codepoint)) return CharClass::number;
  if (in_ranges(kSpaceRanges, codepoint)) return CharClass::space;
  return CharClass::other;
}

template <size_t N>
void fill_bmp(std::array<CharClass, 0x10000>& table, const CodepointRange (&ranges)[N], CharClass cls) {
  for (const CodepointRange& r : ranges) {
    for (uint32_t cp = r.first; cp <= r.last && cp < 0x10000; ++cp) table[cp] = cls;
  }
}

const std::array<CharClass, 0x10000>& bmp_table() {
  static const std::array<CharClass, 0x10000> table = [] {
    std::array<CharClass, 0x10000> t;
    t.fill(CharClass::other);
    fill_bmp(t, kLetterRanges, CharClass::letter);
    fill_bmp(t, kNumberRanges, CharClass::number);
    fill_bmp(t, kSpaceRanges, CharClass::space);
    t['\r'] = t['\n'] = CharClass::newline;
    return t;
  }();
  return table;
}

}  // namespace

namespace detail {
const CharClass* const bmp_classes = bmp_table().data();
CharClass classify_supplementary(uint32_t codepoint) { return classify_slow(codepoint); }
}  // namespace detail

}  // namespace nanochat::bpe

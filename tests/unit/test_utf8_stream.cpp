// The UTF-8 stream decoder: text cut anywhere (inside CJK characters and emoji) comes out
// whole, one complete character at a time at the earliest; bytes that can never become a
// character are replaced at once; finish() flushes what is held back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nanochat/utf8.hpp"
#include "nanochat/utf8_stream.hpp"

using nanochat::Utf8Stream;

namespace {

const std::string kText = "Hi 日本語 😀🎉 é ∑ \xF4\x8F\xBF\xBF!";  // 1- to 4-byte characters, U+10FFFF last
const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8Stream, EveryCutGivesWholeCharacters) {
  for (size_t a = 0; a <= kText.size(); ++a) {
    for (size_t b = a; b <= kText.size(); ++b) {
      Utf8Stream stream;
      std::vector<std::string> chunks = {stream.push(kText.substr(0, a)), stream.push(kText.substr(a, b - a)),
                                         stream.push(kText.substr(b)), stream.finish()};
      std::string joined;
      for (const std::string& chunk : chunks) {
        EXPECT_TRUE(nanochat::is_valid_utf8(chunk)) << "cut at " << a << ", " << b;
        joined += chunk;
      }
      EXPECT_EQ(joined, kText) << "cut at " << a << ", " << b;
    }
  }
}

TEST(Utf8Stream, ByteByByteEmitsEachCharacterWhenItCompletes) {
  Utf8Stream stream;
  std::vector<std::string> emitted;
  for (char c : std::string("日😀a")) {
    std::string text = stream.push(std::string(1, c));
    if (!text.empty()) emitted.push_back(text);
  }
  EXPECT_EQ(emitted, (std::vector<std::string>{"日", "😀", "a"}));
  EXPECT_EQ(stream.pending(), 0u);
  EXPECT_EQ(stream.finish(), "");
}

TEST(Utf8Stream, ImpossibleBytesAreReplacedAtOnce) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("a\xFF"), "a" + kReplacement);  // never a lead byte
  EXPECT_EQ(stream.push("\x80"), kReplacement);        // a continuation with no lead
  EXPECT_EQ(stream.push("\xE6\x97"), "");               // could still become 日
  EXPECT_EQ(stream.push("x"), kReplacement + kReplacement + "x");  // it did not
  EXPECT_EQ(stream.push("\xED\xA0"), kReplacement + kReplacement);  // a surrogate can never complete
  EXPECT_EQ(stream.push("\xF0\x80"), kReplacement + kReplacement);  // nor an overlong form
  EXPECT_EQ(stream.push("\xF0\x9F\x98"), "");
  EXPECT_EQ(stream.pending(), 3u);
  EXPECT_EQ(stream.finish(), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(stream.pending(), 0u);
}

}  // namespace

// Conversation rendering against ids and masks written out by hand (SPEC §2). The
// tokenizer has only the 256 byte tokens, so text ids are its bytes and the special tokens
// are 256 (<|bos|>) to 264 (<|output_end|>).
#include <gtest/gtest.h>

#include "bpe_tokenizer.hpp"
#include "nanochat/conversation.hpp"
#include "nanochat/conversation_json.hpp"
#include "nanochat/error.hpp"

using nanochat::Conversation;
using nanochat::MessagePart;
using nanochat::TokenId;

namespace {

enum : TokenId { BOS = 256, US, UE, AS, AE, PS, PE, OS, OE };

const nanochat::bpe::BpeTokenizer& byte_tokenizer() {
  static const nanochat::bpe::BpeTokenizer tokenizer = [] {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
    return nanochat::bpe::BpeTokenizer(nanochat::bpe::kSplitPattern, tokens,
                                       {nanochat::kSpecialTokens.begin(), nanochat::kSpecialTokens.end()});
  }();
  return tokenizer;
}

Conversation from_json(const std::string& json) { return nanochat::parse_conversation(json); }

}  // namespace

TEST(Conversation, UserAndAssistantTurns) {
  const auto r = nanochat::render_conversation(
      from_json(R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})"),
      byte_tokenizer());
  EXPECT_EQ(r.ids, (std::vector<TokenId>{BOS, US, 'h', 'i', UE, AS, 'y', 'o', AE}));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 1, 1, 1}));
}

TEST(Conversation, PythonCallsAreTargetsAndTheirOutputIsNot) {
  const auto r = nanochat::render_conversation(from_json(R"([
      {"role": "user", "content": "2+2?"},
      {"role": "assistant", "content": [
          {"type": "text", "text": "ok "},
          {"type": "python", "text": "2+2"},
          {"type": "python_output", "text": "4"},
          {"type": "text", "text": "=4"}]}])"),
                                               byte_tokenizer());
  EXPECT_EQ(r.ids, (std::vector<TokenId>{BOS, US,  '2', '+', '2', '?', UE,  AS, 'o', 'k', ' ',
                                         PS,  '2', '+', '2', PE,  OS,  '4', OE, '=', '4', AE}));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}));
}

TEST(Conversation, SystemMessageMergesIntoTheFirstUserTurn) {
  const auto r =
      nanochat::render_conversation(from_json(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "u"},
                    {"role": "assistant", "content": "a"}, {"role": "user", "content": "v"}])"),
                                    byte_tokenizer());
  EXPECT_EQ(r.ids, (std::vector<TokenId>{BOS, US, 'S', '\n', '\n', 'u', UE, AS, 'a', AE, US, 'v', UE}));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}));
}

TEST(Conversation, SpecialTokenTextInMessagesIsPlainText) {
  const auto r =
      nanochat::render_conversation(from_json(R"([{"role": "user", "content": "<|bos|>"}])"), byte_tokenizer());
  EXPECT_EQ(r.ids.size(), 3u + 7u);
  EXPECT_EQ(std::count(r.ids.begin(), r.ids.end(), BOS), 1);
}

TEST(Conversation, TruncatesToMaxTokens) {
  const auto r = nanochat::render_conversation(
      from_json(R"([{"role": "user", "content": "hello"}, {"role": "assistant", "content": "world"}])"),
      byte_tokenizer(), 4);
  EXPECT_EQ(r.ids, (std::vector<TokenId>{BOS, US, 'h', 'e'}));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST(Conversation, RenderForCompletionDropsTheLastAnswerAndPrompts) {
  const auto ids = nanochat::render_for_completion(
      from_json(R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])"), byte_tokenizer());
  EXPECT_EQ(ids, (std::vector<TokenId>{BOS, US, 'q', UE, AS}));
  EXPECT_THROW(nanochat::render_for_completion(from_json(R"([{"role": "user", "content": "q"}])"), byte_tokenizer()),
               nanochat::Error);
}

TEST(Conversation, RolesMustAlternate) {
  EXPECT_THROW(
      nanochat::render_conversation(
          from_json(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])"), byte_tokenizer()),
      nanochat::Error);
  EXPECT_THROW(nanochat::render_conversation(from_json(R"([{"role": "assistant", "content": "a"}])"), byte_tokenizer()),
               nanochat::Error);
  EXPECT_THROW(nanochat::render_conversation(from_json(R"([{"role": "system", "content": "s"}])"), byte_tokenizer()),
               nanochat::Error);
  EXPECT_THROW(nanochat::render_conversation(Conversation{}, byte_tokenizer()), nanochat::Error);
}

TEST(Conversation, JsonDefectsAreNamed) {
  EXPECT_THROW(from_json("not json"), nanochat::Error);
  EXPECT_THROW(from_json(R"({"turns": []})"), nanochat::Error);
  EXPECT_THROW(from_json(R"([{"role": "user"}])"), nanochat::Error);
  EXPECT_THROW(from_json(R"([{"role": "assistant", "content": [{"type": "image", "text": "x"}]}])"), nanochat::Error);
  const Conversation c = from_json(R"([{"role": "assistant", "content": [{"type": "python_output", "text": "4"}]}])");
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].parts[0].type, MessagePart::Type::python_output);
  EXPECT_EQ(nanochat::conversation_from_json(nlohmann::json::parse(R"([{"role": "user", "content": "x"}])"))
                .messages[0]
                .parts[0]
                .text,
            "x");
}

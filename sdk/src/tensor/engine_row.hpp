// One generated row's state in the engine (nanochat's RowState): tokens the calculator
// tool forces next, the python expression being collected, and whether the row has
// stopped. Torch-free, so the state machine reads the same as the SPEC describes it.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "nanochat/tokenizer.hpp"

namespace nanochat::detail {

// The special tokens the engine acts on, looked up once per engine.
struct EngineTokens {
  explicit EngineTokens(const Tokenizer& tokenizer);

  TokenId bos, assistant_end, python_start, python_end, output_start, output_end;
};

class EngineRow {
 public:
  EngineRow(const Tokenizer& tokenizer, const EngineTokens& tokens) : tokenizer_(&tokenizer), tokens_(&tokens) {}

  bool stopped() const { return stopped_; }

  struct Choice {
    TokenId token;
    uint8_t mask;  // 1 sampled, 0 forced
  };
  // The token this row takes now: the next forced one if any, else `sampled`.
  Choice choose(TokenId sampled);

  // Records the chosen token: a stop token ends the row; <|python_start|> starts collecting
  // an expression; <|python_end|> runs the calculator on it and, when there is a result,
  // queues <|output_start|> result <|output_end|>.
  void advance(TokenId token);

 private:
  const Tokenizer* tokenizer_;
  const EngineTokens* tokens_;
  std::deque<TokenId> forced_;
  std::vector<TokenId> expression_;
  bool in_python_ = false;
  bool stopped_ = false;
};

}  // namespace nanochat::detail

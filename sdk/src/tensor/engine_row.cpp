// The calculator tool state machine of one row (see engine_row.hpp).
#include "engine_row.hpp"

#include "nanochat/calculator.hpp"

namespace nanochat::detail {

EngineTokens::EngineTokens(const Tokenizer& tokenizer)
    : bos(tokenizer.special_id(special_tokens::bos)),
      assistant_end(tokenizer.special_id(special_tokens::assistant_end)),
      python_start(tokenizer.special_id(special_tokens::python_start)),
      python_end(tokenizer.special_id(special_tokens::python_end)),
      output_start(tokenizer.special_id(special_tokens::output_start)),
      output_end(tokenizer.special_id(special_tokens::output_end)) {}

EngineRow::Choice EngineRow::choose(TokenId sampled) {
  if (forced_.empty()) return {sampled, 1};
  const TokenId token = forced_.front();
  forced_.pop_front();
  return {token, 0};
}

void EngineRow::advance(TokenId token) {
  if (token == tokens_->assistant_end || token == tokens_->bos) stopped_ = true;
  if (token == tokens_->python_start) {
    in_python_ = true;
    expression_.clear();
  } else if (token == tokens_->python_end && in_python_) {
    in_python_ = false;
    if (!expression_.empty()) {
      if (auto result = calculate(tokenizer_->decode(expression_))) {
        forced_.push_back(tokens_->output_start);
        for (TokenId id : tokenizer_->encode(*result)) forced_.push_back(id);
        forced_.push_back(tokens_->output_end);
      }
    }
    expression_.clear();
  } else if (in_python_) {
    expression_.push_back(token);
  }
}

}  // namespace nanochat::detail

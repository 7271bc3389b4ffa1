// The calculator tool the chat model calls between <|python_start|> and <|python_end|>
// (SPEC §10). nanochat eval()s the expression after filtering it; we parse it ourselves, so
// nothing but arithmetic and 'text'.count('x') can ever run. Torch-free.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nanochat {

// Accepts numbers (integers, decimals), + - * / with unary signs and parentheses (commas
// are stripped first, as nanochat does: "1,000" is 1000), and 'text'.count('x') with single
// or double quotes. Returns the result as Python prints it ("7", "2.5", "0.1", "1e+20"),
// or nullopt for anything else: ** and //, names, division by zero, nesting deeper than
// 64, input over 1000 bytes, integers beyond ±1.7·10^38 (128 bits) or non-finite results.
// Never throws.
std::optional<std::string> calculate(std::string_view expression);

}  // namespace nanochat

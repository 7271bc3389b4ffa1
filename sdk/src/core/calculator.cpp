// The calculator tool (see nanochat/calculator.hpp): a recursive-descent parser over a
// bounded input that computes with Python's number rules (int ⊕ int stays int, / always
// gives a float) and prints as Python's str() does. Rejection is an internal exception
// caught at the one entry point, so every path out of a bad expression is the same.
#include "nanochat/calculator.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "nanochat/utf8.hpp"

namespace nanochat {
namespace {

constexpr size_t kMaxLength = 1000;
constexpr int kMaxDepth = 64;

using Int = __int128;  // Python's ints are unbounded; 128 bits cover anything a chat asks

struct Reject {};

struct Number {
  bool is_int = true;
  Int i = 0;
  double f = 0.0;

  double as_double() const { return is_int ? static_cast<double>(i) : f; }
};

Number make_float(double value) {
  if (!std::isfinite(value)) throw Reject{};
  return {false, 0, value};
}

std::string format_int(Int value) {
  const bool negative = value < 0;
  unsigned __int128 magnitude = negative ? -static_cast<unsigned __int128>(value) : value;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  return negative ? "-" + digits : digits;
}

// Python's repr(float): the shortest digits that read back to the same double, in fixed
// notation for decimal exponents -4..15 and scientific ("1e+16", "1e-05") otherwise.
std::string format_float(double value) {
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text(buffer);
  std::string sign;
  if (text[0] == '-') {
    sign = "-";
    text.erase(0, 1);
  }
  const size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits = text.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // the '.'
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  const int point = exponent + 1;  // digits are 0.d1d2… × 10^point
  const int count = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {
    std::string mantissa = digits.substr(0, 1);
    if (count > 1) mantissa += "." + digits.substr(1);
    char exp_text[8];
    std::snprintf(exp_text, sizeof exp_text, "e%+03d", exponent);
    return sign + mantissa + exp_text;
  }
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point >= count) return sign + digits + std::string(point - count, '0') + ".0";
  return sign + digits.substr(0, point) + "." + digits.substr(point);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::string run() {
    skip_space();
    const std::string result = peek() == '\'' || peek() == '"' ? count_call() : arithmetic();
    skip_space();
    if (pos_ != text_.size()) throw Reject{};
    return result;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (peek() == ' ' || peek() == '\t') ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) throw Reject{};
    ++pos_;
  }
  void expect_word(std::string_view word) {
    skip_space();
    if (text_.substr(pos_, word.size()) != word) throw Reject{};
    pos_ += word.size();
  }

  std::string arithmetic() {
    const Number n = sum();
    return n.is_int ? format_int(n.i) : format_float(n.f);
  }

  Number sum() {
    Number left = product();
    for (skip_space(); peek() == '+' || peek() == '-'; skip_space()) {
      const char op = text_[pos_++];
      const Number right = product();
      if (left.is_int && right.is_int) {
        const bool overflow = op == '+' ? __builtin_add_overflow(left.i, right.i, &left.i)
                                        : __builtin_sub_overflow(left.i, right.i, &left.i);
        if (overflow) throw Reject{};
      } else {
        left = make_float(op == '+' ? left.as_double() + right.as_double() : left.as_double() - right.as_double());
      }
    }
    return left;
  }

  Number product() {
    Number left = unary();
    for (skip_space(); peek() == '*' || peek() == '/'; skip_space()) {
      const char op = text_[pos_++];
      const Number right = unary();  // "**" and "//" fail here: no operand starts with * or /
      if (op == '/') {
        if (right.as_double() == 0.0) throw Reject{};  // ZeroDivisionError
        // Exact for ints below 2^53; beyond, Python rounds the exact quotient once.
        left = make_float(left.as_double() / right.as_double());
      } else if (left.is_int && right.is_int) {
        if (__builtin_mul_overflow(left.i, right.i, &left.i)) throw Reject{};
      } else {
        left = make_float(left.as_double() * right.as_double());
      }
    }
    return left;
  }

  Number unary() {
    skip_space();
    const char c = peek();
    if (c != '+' && c != '-') return primary();
    ++pos_;
    const DepthGuard guard(*this);
    Number n = unary();
    if (c == '-') {
      if (n.is_int) {
        if (__builtin_sub_overflow(Int{0}, n.i, &n.i)) throw Reject{};
      } else {
        n.f = -n.f;
      }
    }
    return n;
  }

  Number primary() {
    skip_space();
    if (peek() == '(') {
      ++pos_;
      const DepthGuard guard(*this);
      const Number n = sum();
      expect(')');
      return n;
    }
    return number();
  }

  // A Python decimal literal: 12, 1.5, .5, 5. (no exponents: nanochat's filter has no 'e').
  Number number() {
    const size_t start = pos_;
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    const size_t int_end = pos_;
    if (peek() == '.') {
      ++pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      if (pos_ - start == 1) throw Reject{};  // a lone '.'
      double value = 0.0;
      const auto [end, error] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
      if (error == std::errc::result_out_of_range) throw Reject{};
      if (error != std::errc() || end != text_.data() + pos_) throw Reject{};
      return make_float(value);
    }
    if (int_end == start) throw Reject{};
    const std::string_view digits = text_.substr(start, int_end - start);
    // Python refuses "0123" (leading zeros) but accepts "00".
    if (digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string_view::npos) {
      throw Reject{};
    }
    Int value = 0;
    for (char d : digits) {
      if (__builtin_mul_overflow(value, Int{10}, &value) || __builtin_add_overflow(value, Int{d - '0'}, &value)) {
        throw Reject{};
      }
    }
    return {true, value, 0.0};
  }

  // 'text'.count('x'): non-overlapping occurrences, as str.count (an empty needle matches
  // between every character).
  std::string count_call() {
    const std::string_view haystack = quoted();
    expect('.');
    expect_word("count");
    expect('(');
    skip_space();
    const std::string_view needle = quoted();
    expect(')');
    if (needle.empty()) return format_int(static_cast<Int>(utf8_length(haystack)) + 1);
    Int count = 0;
    for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + needle.size())) {
      ++count;
    }
    return format_int(count);
  }

  // A string literal without escapes (a backslash is refused rather than interpreted).
  std::string_view quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') throw Reject{};
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' || text_[pos_] == '\n') throw Reject{};
      ++pos_;
    }
    if (pos_ == text_.size()) throw Reject{};
    return text_.substr(start, pos_++ - start);
  }

  // Bounds the recursion, so deep nesting is refused instead of exhausting the stack.
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxDepth) throw Reject{};
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<std::string> calculate(std::string_view expression) {
  if (expression.size() > kMaxLength) return std::nullopt;
  std::string text;
  text.reserve(expression.size());
  for (char c : expression) {
    if (c != ',') text += c;  // "1,000" means 1000 to a chat user, as nanochat strips them
  }
  try {
    return Parser(text).run();
  } catch (const Reject&) {
    return std::nullopt;
  } catch (const std::exception&) {  // allocation failure: still no crash
    return std::nullopt;
  }
}

}  // namespace nanochat

// Building the program that checks a HumanEval completion (see humaneval_program.hpp).
#include "humaneval_program.hpp"

#include <algorithm>
#include <optional>

namespace nanochat::humaneval {
namespace {

constexpr std::string_view kSpace = " \t\n\r\f\v";

std::string_view strip(std::string_view text) {
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The group of the first match of ```(?:python)?\s*\n(.*?)\n``` (DOTALL), trying what the
// regex engine tries: each fence in turn, "python" taken or not, and the '\n' that ends
// \s* from the last one in the whitespace run back to the first.
std::optional<std::string_view> first_fenced_block(std::string_view text) {
  constexpr std::string_view kFence = "```";
  constexpr std::string_view kClosing = "\n```";
  for (size_t fence = text.find(kFence); fence != std::string_view::npos; fence = text.find(kFence, fence + 1)) {
    const size_t after = fence + kFence.size();
    const bool says_python = starts_with(text.substr(after), "python");
    for (int take_python = says_python ? 1 : 0; take_python >= 0; --take_python) {
      const size_t start = after + (take_python == 1 ? 6 : 0);
      const size_t run_end = std::min(text.find_first_not_of(kSpace, start), text.size());
      for (size_t newline = run_end; newline-- > start;) {
        if (text[newline] != '\n') continue;
        const size_t code = newline + 1;
        const size_t closing = text.find(kClosing, code);
        if (closing != std::string_view::npos) return text.substr(code, closing - code);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string extract_imports(std::string_view prompt) {
  std::string imports;
  for (size_t begin = 0; begin <= prompt.size();) {
    const size_t end = std::min(prompt.find('\n', begin), prompt.size());
    const std::string_view line = strip(prompt.substr(begin, end - begin));
    begin = end + 1;
    if (starts_with(line, "import ") || starts_with(line, "from ")) {
      if (!imports.empty()) imports += '\n';
      imports += line;
    } else if (!line.empty() && !starts_with(line, "#")) {
      break;
    }
  }
  return imports;
}

std::string extract_code(std::string_view completion) {
  return std::string(strip(first_fenced_block(completion).value_or(completion)));
}

std::string check_program(std::string_view prompt, std::string_view completion, std::string_view test,
                          std::string_view entry_point) {
  std::string program = extract_imports(prompt);
  program += "\n\n";
  program += extract_code(completion);
  program += "\n\n";
  program += test;
  program += "\ncheck(";
  program += entry_point;
  program += ")";
  return program;
}

}  // namespace nanochat::humaneval

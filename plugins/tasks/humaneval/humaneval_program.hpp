// The program that checks a HumanEval completion, built as nanochat's tasks/humaneval.py
// builds it: the prompt's imports, the completion's code, the problem's tests and
// `check(entry_point)`.
#pragma once

#include <string>
#include <string_view>

namespace nanochat::humaneval {

// The import lines at the top of a prompt ("import x", "from x import y"), stripped and
// joined by '\n'; blank and '#' lines are passed over, the first other line ends them.
std::string extract_imports(std::string_view prompt);

// The first fenced block of a completion (Python: re.findall(r'```(?:python)?\s*\n(.*?)\n```',
// completion, re.DOTALL)[0].strip()), else the whole completion stripped. Whitespace here is
// ASCII whitespace, where Python's \s and strip() also take Unicode spaces.
std::string extract_code(std::string_view completion);

// imports + "\n\n" + code + "\n\n" + test + "\n" + "check(entry_point)".
std::string check_program(std::string_view prompt, std::string_view completion, std::string_view test,
                          std::string_view entry_point);

}  // namespace nanochat::humaneval

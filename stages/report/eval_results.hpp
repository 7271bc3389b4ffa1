// The eval stage's results, $NANOCHAT_BASE_DIR/eval/<source>-<kind>.json:
//   {"source": base|mid|sft|rl, "kind": core|bpb|chat|sample, "model_tag", "step", "seconds", "time",
//    "tasks": [{"name", "label", "accuracy", "centered", "items"}],
//    "summary": {"CORE-20": x} (core) or {"ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "HumanEval",
//               "SpellingBee", "ChatCORE"} (chat), any of them absent}.
// The report reads what its summary table and licences need: source, kind, task names, summary.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nanochat::report {

struct EvalResult {
  std::string source;                    // base, mid, sft or rl
  std::string kind;                      // core, bpb, chat or sample
  std::vector<std::string> task_names;   // tasks[].name
  std::map<std::string, double> summary;  // metric → value (null values are left out)
};

// One file's JSON. Throws Error saying what is wrong (not JSON, an unknown source or kind,
// a summary value that is not a number, ...).
EvalResult parse_eval_result(const std::string& json_text);

struct EvalResults {
  std::vector<EvalResult> results;    // in file-name order
  std::vector<std::string> skipped;   // "eval/x.json: what is wrong", one per bad file
};

// Every *.json of `eval_dir` (none when it does not exist). A bad file does not stop the
// report: it is logged as a warning, listed in `skipped` (the report shows the list) and
// left out, so one broken evaluation still leaves the others' numbers.
EvalResults read_eval_results(const std::filesystem::path& eval_dir);

}  // namespace nanochat::report

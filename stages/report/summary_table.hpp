// nanochat's Summary: the metric × BASE / MID / SFT / RL table built from the eval results,
// and the total wall-clock time. Shape as report.py at 10231df: columns 15 and 8 wide,
// "-" where a stage has no value, CORE first, ChatCORE last, the others alphabetical, and
// RL showing only GSM8K (the one task nanochat's RL evaluates).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval_results.hpp"

namespace nanochat::report {

// source (base, mid, sft, rl) → metric → value.
using SummaryValues = std::map<std::string, std::map<std::string, double>>;

// The table's metrics of each result: CORE-20, ARC-Easy, ARC-Challenge, MMLU, GSM8K,
// HumanEval and ChatCORE (only GSM8K for rl). A later file's value wins.
SummaryValues summary_values(const std::vector<EvalResult>& results);

// The markdown table, header and separator included; values with 4 decimals. Only the
// metrics that some stage has are rows (none: header and separator only).
std::string summary_table(const SummaryValues& values);

// "Total wall clock time" as nanochat writes it: whole hours and minutes, "3h51m", "0h7m".
std::string format_wall_clock(double seconds);

}  // namespace nanochat::report

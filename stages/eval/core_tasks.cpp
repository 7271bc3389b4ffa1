// The CORE task table, items and baselines (see core_tasks.hpp).
#include "core_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nanochat/error.hpp"
#include "nanochat/python_random.hpp"

namespace fs = std::filesystem;

namespace nanochat::eval {

const char* core_task_type_name(CoreTaskType type) {
  switch (type) {
    case CoreTaskType::multiple_choice: return "multiple_choice";
    case CoreTaskType::schema: return "schema";
    case CoreTaskType::language_modeling: return "language_modeling";
  }
  return "?";
}

const std::vector<CoreTaskSpec>& core_task_table() {
  // nanochat's core.yaml (inside its eval_bundle.zip, not in ../shared/data): the 22 tasks of
  // DCLM's "low variance" list with the settings of mlfoundations/dclm eval/heavy.yaml —
  // labels, dataset_uri, num_fewshot, icl_task_type and continuation_delimiter, whose
  // default is llm-foundry's " ". squad and coqa are the two files ../shared/data lacks
  // (../shared/data/eval_core/PROVENANCE.md).
  using T = CoreTaskType;
  static const char* const space = " ";
  static const char* const answer = "\nAnswer: ";
  static const std::vector<CoreTaskSpec> table = {
      {"hellaswag_zeroshot", "language_understanding/hellaswag.jsonl", T::multiple_choice, 0, space, false},
      {"jeopardy", "world_knowledge/jeopardy_all.jsonl", T::language_modeling, 10, answer, false},
      {"bigbench_qa_wikidata", "world_knowledge/bigbench_qa_wikidata.jsonl", T::language_modeling, 10, space, false},
      {"arc_easy", "world_knowledge/arc_easy.jsonl", T::multiple_choice, 10, answer, false},
      {"arc_challenge", "world_knowledge/arc_challenge.jsonl", T::multiple_choice, 10, answer, false},
      {"copa", "commonsense_reasoning/copa.jsonl", T::multiple_choice, 0, space, false},
      {"commonsense_qa", "commonsense_reasoning/commonsense_qa.jsonl", T::multiple_choice, 10, space, false},
      {"piqa", "commonsense_reasoning/piqa.jsonl", T::multiple_choice, 10, answer, false},
      {"openbook_qa", "commonsense_reasoning/openbook_qa.jsonl", T::multiple_choice, 0, space, false},
      {"lambada_openai", "language_understanding/lambada_openai.jsonl", T::language_modeling, 0, space, false},
      {"hellaswag", "language_understanding/hellaswag.jsonl", T::multiple_choice, 10, space, false},
      {"winograd", "language_understanding/winograd_wsc.jsonl", T::schema, 0, space, false},
      {"winogrande", "language_understanding/winogrande.jsonl", T::schema, 0, space, false},
      {"bigbench_dyck_languages", "symbolic_problem_solving/bigbench_dyck_languages.jsonl", T::language_modeling, 10, space, false},
      {"agi_eval_lsat_ar", "symbolic_problem_solving/agi_eval_lsat_ar.jsonl", T::multiple_choice, 3, space, false},
      {"bigbench_cs_algorithms", "symbolic_problem_solving/bigbench_cs_algorithms.jsonl", T::language_modeling, 10, space, false},
      {"bigbench_operators", "symbolic_problem_solving/bigbench_operators.jsonl", T::language_modeling, 10, space, false},
      {"bigbench_repeat_copy_logic", "symbolic_problem_solving/bigbench_repeat_copy_logic.jsonl", T::language_modeling, 10, space, false},
      {"squad", "reading_comprehension/squad.jsonl", T::language_modeling, 10, space, true},
      {"coqa", "reading_comprehension/coqa.jsonl", T::language_modeling, 0, space, true},
      {"boolq", "reading_comprehension/boolq.jsonl", T::multiple_choice, 10, answer, false},
      {"bigbench_language_identification", "language_understanding/bigbench_language_identification.jsonl", T::multiple_choice, 10, space, false},
  };
  return table;
}

std::vector<fs::path> core_task_files(const fs::path& data_dir, const CoreTaskSpec& spec) {
  const fs::path file = data_dir / "eval_core" / "eval_data" / spec.file;
  if (fs::exists(file)) return {file};
  if (std::string(spec.file) == "language_understanding/hellaswag.jsonl") {
    std::vector<fs::path> parts;
    for (int part = 1; part <= 3; ++part) {
      parts.push_back(data_dir / "eval_hellaswag" / fmt::format("hellaswag_val_part{}of3.jsonl", part));
      if (!fs::exists(parts.back())) return {};
    }
    return parts;
  }
  return {};
}

namespace {

std::string text_field(const nlohmann::json& item, const char* key) {
  const auto it = item.find(key);
  if (it == item.end() || !it->is_string()) throw Error(fmt::format("\"{}\" is missing or not a string", key));
  return it->get<std::string>();
}

std::vector<std::string> text_list_field(const nlohmann::json& item, const char* key) {
  const auto it = item.find(key);
  if (it == item.end() || !it->is_array() || it->empty()) {
    throw Error(fmt::format("\"{}\" is missing or not a non-empty list", key));
  }
  std::vector<std::string> texts;
  for (const auto& value : *it) {
    if (!value.is_string()) throw Error(fmt::format("\"{}\" holds a value that is not a string", key));
    texts.push_back(value.get<std::string>());
  }
  return texts;
}

int gold_field(const nlohmann::json& item, size_t options) {
  const auto it = item.find("gold");
  if (it == item.end() || !it->is_number_integer()) throw Error("\"gold\" is missing or not an integer");
  const int64_t gold = it->get<int64_t>();
  if (gold < 0 || gold >= static_cast<int64_t>(options)) {
    throw Error(fmt::format("\"gold\" {} is not the index of one of the {} options", gold, options));
  }
  return static_cast<int>(gold);
}

CoreItem parse_item(const nlohmann::json& json, CoreTaskType type) {
  if (!json.is_object()) throw Error("not a JSON object");
  CoreItem item;
  switch (type) {
    case CoreTaskType::multiple_choice:
      item.context = text_field(json, "query");
      item.options = text_list_field(json, "choices");
      item.gold = gold_field(json, item.options.size());
      break;
    case CoreTaskType::schema:
      item.options = text_list_field(json, "context_options");
      item.continuation = text_field(json, "continuation");
      item.gold = gold_field(json, item.options.size());
      break;
    case CoreTaskType::language_modeling:
      item.context = text_field(json, "context");
      item.continuation = text_field(json, "continuation");
      break;
  }
  return item;
}

}  // namespace

std::vector<CoreItem> load_core_items(const std::vector<fs::path>& files, CoreTaskType type, int64_t max_problems) {
  struct Line {
    std::string text;
    size_t file, number;
  };
  std::vector<Line> lines;
  for (size_t f = 0; f < files.size(); ++f) {
    std::ifstream in(files[f], std::ios::binary);
    if (!in) throw Error("cannot read " + files[f].string());
    std::string text;
    for (size_t number = 1; std::getline(in, text); ++number) {
      if (text.find_first_not_of(" \t\r") != std::string::npos) lines.push_back({std::move(text), f, number});
    }
  }
  if (lines.empty()) throw Error(fmt::format("{}: no items", files.empty() ? std::string("(no files)") : files.front().string()));
  PythonRandom(1337).shuffle(lines);
  if (max_problems >= 0 && static_cast<size_t>(max_problems) < lines.size()) lines.resize(static_cast<size_t>(max_problems));
  std::vector<CoreItem> items;
  items.reserve(lines.size());
  for (const Line& line : lines) {
    try {
      items.push_back(parse_item(nlohmann::json::parse(line.text), type));
    } catch (const std::exception& e) {
      throw Error(fmt::format("{} line {}: {} (expected a {} item)", files[line.file].string(), line.number, e.what(),
                              core_task_type_name(type)));
    }
  }
  return items;
}

namespace {

// The fields of one CSV record (RFC 4180: quoted fields may hold commas, doubled quotes and
// line breaks), read from `in`; false at the end of the file.
bool read_csv_record(std::istream& in, std::vector<std::string>& fields) {
  fields.assign(1, "");
  bool quoted = false, any = false;
  for (int c; (c = in.get()) != EOF;) {
    any = true;
    if (quoted) {
      if (c != '"') {
        fields.back() += static_cast<char>(c);
      } else if (in.peek() == '"') {
        fields.back() += static_cast<char>(in.get());
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      return true;
    } else if (c != '\r') {
      fields.back() += static_cast<char>(c);
    }
  }
  return any;
}

}  // namespace

std::map<std::string, double> load_random_baselines(const fs::path& csv_file) {
  std::ifstream in(csv_file, std::ios::binary);
  if (!in) throw Error("cannot read " + csv_file.string() + " (the random baselines of the CORE tasks)");
  std::vector<std::string> header, fields;
  if (!read_csv_record(in, header)) throw Error(csv_file.string() + ": empty file");
  if (!header.empty() && header[0].rfind("\xEF\xBB\xBF", 0) == 0) header[0].erase(0, 3);
  size_t task_column = header.size(), baseline_column = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "Eval Task") task_column = i;
    if (header[i] == "Random baseline") baseline_column = i;
  }
  if (task_column == header.size() || baseline_column == header.size()) {
    throw Error(csv_file.string() + ": no \"Eval Task\" and \"Random baseline\" columns in the header");
  }
  std::map<std::string, double> baselines;
  for (size_t row = 2; read_csv_record(in, fields); ++row) {
    if (fields.size() == 1 && fields[0].empty()) continue;
    if (fields.size() <= std::max(task_column, baseline_column)) {
      throw Error(fmt::format("{} row {}: {} fields, fewer than the header's", csv_file.string(), row, fields.size()));
    }
    try {
      size_t used = 0;
      const double value = std::stod(fields[baseline_column], &used);
      if (used != fields[baseline_column].size()) throw std::invalid_argument("trailing text");
      baselines[fields[task_column]] = value;
    } catch (const std::exception&) {
      throw Error(fmt::format("{} row {}: random baseline '{}' is not a number", csv_file.string(), row,
                              fields[baseline_column]));
    }
  }
  return baselines;
}

double centered_accuracy(double accuracy, double random_baseline_percent) {
  const double b = 0.01 * random_baseline_percent;
  return (accuracy - b) / (1.0 - b);
}

}  // namespace nanochat::eval

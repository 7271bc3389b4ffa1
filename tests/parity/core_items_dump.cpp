// core_items_dump: every CORE item as our eval stage prepares it (stages/eval's task table,
// order, few-shot picks, prompts, token ids and spans), one JSON line per item with the
// fields of bench/core/reference_core.py's `items` command, for check_core_parity.py.
//   core_items_dump --data DIR --tokenizer DIR --max-problems N --out FILE
#include <boost/program_options.hpp>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bpe_tokenizer.hpp"
#include "core_prompts.hpp"
#include "core_tasks.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;
using namespace nanochat::eval;

int main(int argc, char** argv) try {
  fs::path data, tokenizer_dir, out;
  int64_t max_problems = -1;
  po::options_description desc("core_items_dump: our CORE items for the parity check with nanochat");
  desc.add_options()("data", po::value(&data)->required(), "the shared data folder")
      ("tokenizer", po::value(&tokenizer_dir)->required(), "our tokenizer folder")
      ("max-problems", po::value(&max_problems)->default_value(max_problems), "items per task (-1: all)")
      ("out", po::value(&out)->required(), "JSON lines file to write");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  po::notify(vm);

  nanochat::bpe::BpeTokenizer tokenizer;
  tokenizer.load(tokenizer_dir);
  std::ofstream file(out);
  for (const CoreTaskSpec& spec : core_task_table()) {
    const std::vector<fs::path> files = core_task_files(data, spec);
    if (files.empty()) continue;
    const std::vector<CoreItem> items = load_core_items(files, spec.type, max_problems);
    for (size_t i = 0; i < items.size(); ++i) {
      std::vector<const CoreItem*> fewshot;
      const std::vector<size_t> picks = core_fewshot_indices(i, items.size(), spec.shots);
      for (size_t p : picks) fewshot.push_back(&items[p]);
      const CoreSequences sequences = prepare_core_item(spec, items, i, tokenizer);
      file << nlohmann::json{{"task", spec.label},
                             {"index", i},
                             {"fewshot", picks},
                             {"prompts", render_core_prompts(spec, items[i], fewshot)},
                             {"tokens", sequences.tokens},
                             {"start", sequences.start},
                             {"end", sequences.end}}
                  .dump()
           << "\n";
    }
  }
  return file.good() ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "core_items_dump: " << e.what() << "\n";
  return 1;
}

// The start and the result file of an evaluation (see eval_common.hpp).
#include "eval_common.hpp"

#include <fmt/format.h>

#include <ctime>

#include "nanochat/atomic_file.hpp"

namespace fs = std::filesystem;

namespace nanochat::eval {

std::string EvalRun::model_name() const {
  return fmt::format("{} model {} step {}", model.source, model.checkpoint.dir.filename().string(), model.checkpoint.step);
}

EvalRun start_eval(const EvalOptions& options) {
  EvalRun run;
  run.started = std::chrono::steady_clock::now();
  run.process = join_training_process(options.device);
  ChatModelOptions load;
  load.source = options.source.empty() ? "base" : options.source;
  load.model_tag = options.model_tag;
  load.step = options.step;
  load.device = run.process.device.str();
  load.dtype = options.dtype;
  load.tokenizer = options.tokenizer;
  run.model = load_chat_model(options.base_dir, load);
  return run;
}

fs::path eval_result_path(const fs::path& base_dir, const std::string& source, const std::string& kind) {
  return base_dir / "eval" / (source + "-" + kind + ".json");
}

fs::path write_eval_result(const EvalOptions& options, const EvalRun& run, nlohmann::json fields) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.started).count();
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  fields["source"] = run.model.source;
  fields["kind"] = options.kind;
  fields["model_tag"] = run.model.checkpoint.dir.filename().string();
  fields["step"] = run.model.checkpoint.step;
  fields["max_problems"] = options.max_problems < 0 ? nlohmann::json(nullptr) : nlohmann::json(options.max_problems);
  fields["seconds"] = seconds;
  fields["time"] = stamp;
  const fs::path path = eval_result_path(options.base_dir, run.model.source, options.kind);
  fs::create_directories(path.parent_path());
  atomic_write_file(path, fields.dump(1) + "\n");
  return path;
}

}  // namespace nanochat::eval

// The training stages' shared options (see nanochat/train_settings.hpp).
#include "nanochat/train_settings.hpp"

#include <boost/program_options.hpp>

#include "nanochat/optimizer_options.hpp"

namespace po = boost::program_options;

namespace nanochat {

void add_train_options(po::options_description& options, TrainSettings& s) {
  options.add_options()
    ("num-iterations", po::value(&s.num_iterations)->default_value(s.num_iterations), "optimizer steps (-1: the stage's own horizon)")
    ("device-batch-size", po::value(&s.device_batch_size)->default_value(s.device_batch_size), "rows per forward pass (halved automatically when it does not fit)")
    ("eval-every", po::value(&s.eval_every)->default_value(s.eval_every), "steps between evaluations (-1: only at the end)")
    ("save-every", po::value(&s.save_every)->default_value(s.save_every), "steps between checkpoints (-1: only at the end)")
    ("resume-from-step", po::value(&s.resume_from_step)->default_value(s.resume_from_step), "continue from this checkpoint step; auto: the newest complete one (-1: start fresh)")
    ("keep-last", po::value(&s.keep_last)->default_value(s.keep_last), "keep only this many newest checkpoints, deleting older ones once a newer one is complete (-1: keep all)")
    ("model-tag", po::value(&s.model_tag)->default_value(s.model_tag), "checkpoint folder name")
    ("device", po::value(&s.device)->default_value(s.device), "auto, cpu, cuda, cuda:N")
    ("dtype", po::value(&s.dtype)->default_value(s.dtype), "compute dtype: auto (bf16 on CUDA, fp32 on CPU; a resume keeps the checkpoint's), fp32, bf16")
    ("seed", po::value(&s.seed)->default_value(s.seed), "initialization and data-order seed")
    ("tokenizer", po::value(&s.tokenizer)->default_value(s.tokenizer), "tokenizer plugin (reads $NANOCHAT_BASE_DIR/tokenizer)")
    ("init-lr-frac", po::value(&s.init_lr_frac)->default_value(s.init_lr_frac), "every learning rate is scaled by this from the start")
    ("log-file", po::value<std::string>()->default_value("")->notifier([&s](const std::string& file) { s.log_file = file; }),
     "also write each step as a JSON line here");
  add_optimizer_options(options, s.optimizers);
}

nlohmann::json options_as_json(const po::variables_map& values) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : values) {
    const auto& any = value.value();
    if (any.type() == typeid(int64_t)) json[name] = boost::any_cast<int64_t>(any);
    else if (any.type() == typeid(uint64_t)) json[name] = boost::any_cast<uint64_t>(any);
    else if (any.type() == typeid(double)) json[name] = boost::any_cast<double>(any);
    else if (any.type() == typeid(std::string)) json[name] = boost::any_cast<std::string>(any);
    else if (any.type() == typeid(std::vector<std::string>)) json[name] = boost::any_cast<std::vector<std::string>>(any);
  }
  return json;
}

}  // namespace nanochat

// Task mixtures rendered for the chat-training stages (see nanochat/chat_training.hpp).
#include <algorithm>

#include "nanochat/chat_training.hpp"
#include "nanochat/task.hpp"

namespace nanochat {

std::vector<RenderedConversation> render_task_mixture(const std::string& mixture, const std::string& default_split,
                                                      const std::string& task_data_dir, uint64_t seed,
                                                      const Tokenizer& tokenizer, size_t max_tokens, size_t limit) {
  const std::filesystem::path data_dir = task_data_dir.empty() ? default_task_data_dir() : std::filesystem::path(task_data_dir);
  TaskMixture tasks(open_tasks(parse_task_list(mixture), data_dir, default_split), seed);
  const size_t count = std::min(limit, tasks.size());
  return render_conversations(count, [&](size_t i) { return tasks.get(i).conversation; }, tokenizer, max_tokens);
}

}  // namespace nanochat

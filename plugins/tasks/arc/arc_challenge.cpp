// Task `arc-challenge`: ARC-Challenge (see arc_task.hpp).
#include "arc_task.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

class ArcChallengeTask final : public ArcTask {
 public:
  ArcChallengeTask() : ArcTask("arc-challenge", "ARC-Challenge") {}
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::ArcChallengeTask, "arc-challenge")

// Task `arc-easy`: ARC-Easy (see arc_task.hpp).
#include "arc_task.hpp"
#include "nanochat/task_plugin.hpp"

namespace nanochat {
namespace {

class ArcEasyTask final : public ArcTask {
 public:
  ArcEasyTask() : ArcTask("arc-easy", "ARC-Easy") {}
};

}  // namespace
}  // namespace nanochat

NANOCHAT_TASK_PLUGIN(nanochat::ArcEasyTask, "arc-easy")

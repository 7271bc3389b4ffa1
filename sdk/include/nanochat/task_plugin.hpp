// NANOCHAT_TASK_PLUGIN(IMPL, "name"): the plugin entry of a task this project ships. The
// name must be a row of kTaskTable (checked at compile time), whose description becomes
// the plugin's. A third-party task uses NANOCHAT_PLUGIN(NANOCHAT_KIND_TASK, nanochat::Task,
// ...) directly.
#pragma once

#include "nanochat/plugin.hpp"
#include "nanochat/task.hpp"

#define NANOCHAT_TASK_PLUGIN(IMPL, NAME)                                                    \
  static_assert(::nanochat::find_task_info(NAME) != nullptr, "task " NAME " is not in kTaskTable"); \
  NANOCHAT_PLUGIN(NANOCHAT_KIND_TASK, ::nanochat::Task, IMPL, NAME, "1.0.0",                \
                  ::nanochat::find_task_info(NAME)->description)

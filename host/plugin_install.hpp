// `nanochat plugins install PATH` and `nanochat plugins remove NAME`: plugins go into and
// out of the user plugin folder, and only after they load and pass every check.
#pragma once

#include "commands.hpp"

namespace nanochat::host {

int install_plugins(const Args& args);
int remove_plugin(const Args& args);

}  // namespace nanochat::host

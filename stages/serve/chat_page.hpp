// The chat page served at GET / (stages/serve/ui/index.html, compiled into the plugin so
// the server needs no files beside it and the browser no CDN).
#pragma once

#include <string>

namespace nanochat::serve {

const std::string& chat_page();

}  // namespace nanochat::serve

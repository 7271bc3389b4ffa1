// Server-sent events as both APIs frame them: one `data: <json>` line and a blank line per
// event. The JSON is always valid UTF-8: a byte the text could not carry would become
// U+FFFD rather than break the stream (the engine streams whole characters anyway).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace nanochat::serve {

inline std::string sse_event(const nlohmann::json& data) {
  return "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

// OpenAI's end of stream.
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace nanochat::serve

// conversation_from_json: parse_conversation for callers that already hold a parsed
// nlohmann::json (task plugins reading JSONL). Kept apart from conversation.hpp so that
// header stays free of nlohmann.
#pragma once

#include <nlohmann/json.hpp>

#include "nanochat/conversation.hpp"

namespace nanochat {

inline Conversation conversation_from_json(const nlohmann::json& json) { return parse_conversation(json.dump()); }

}  // namespace nanochat

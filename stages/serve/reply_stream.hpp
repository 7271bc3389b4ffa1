// One streamed reply as server-sent events in the shape of the API that asked for it:
// nanochat's {"token"} events then {"done": true}, or OpenAI's chunks (role, contents,
// finish reason, optional usage) then [DONE]. Every call reports whether the client
// still takes data, so generation stops as soon as it goes away.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "reply_shapes.hpp"

namespace nanochat::serve {

enum class ChatApi { nanochat, openai };

class ReplyStream {
 public:
  // Sends bytes to the client; false once it is gone.
  using Write = std::function<bool(const std::string& bytes)>;

  ReplyStream(ChatApi api, ReplyIdentity reply, size_t worker, bool include_usage, Write write);

  bool start();
  bool text(std::string_view piece);
  bool finish(const std::string& finish_reason, const Usage& usage);

 private:
  ChatApi api_;
  ReplyIdentity reply_;
  size_t worker_;
  bool include_usage_;
  Write write_;
};

}  // namespace nanochat::serve

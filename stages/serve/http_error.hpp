// A request the server refuses, with what an OpenAI client expects to read: the HTTP
// status and an error object {message, type, param, code}.
#pragma once

#include <string>

#include "nanochat/error.hpp"

namespace nanochat::serve {

class HttpError : public Error {
 public:
  HttpError(int status, std::string type, const std::string& message, std::string param = "", std::string code = "")
      : Error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}

  int status;
  std::string type;   // "invalid_request_error", "server_error", ...
  std::string param;  // the request field at fault; "" when none
  std::string code;   // a machine-readable reason; "" when none
};

// 400 for a request field that breaks a rule.
inline HttpError invalid_request(const std::string& message, const std::string& param = "") {
  return HttpError(400, "invalid_request_error", message, param);
}

}  // namespace nanochat::serve

// What a client sees when a handler fails unexpectedly (a bug, not a refusal): a 500 with a
// generic message and an error id, never the exception's text, which may name files,
// memory sizes or other internals. The text goes to the server log under the same id, so
// an operator can find it from what the user reports.
#pragma once

#include <exception>
#include <string>

#include "http_error.hpp"

namespace nanochat::serve {

// Logs `error` with a fresh id and returns the 500 to send.
HttpError internal_error(std::exception_ptr error);

}  // namespace nanochat::serve

// The 500 reply: a fresh id in the client's message and in the log line beside the real text.
#include "internal_error.hpp"

#include <fmt/format.h>

#include <random>

#include "nanochat/log.hpp"

namespace nanochat::serve {

HttpError internal_error(std::exception_ptr error) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::string id = fmt::format("err-{:016x}", random());
  std::string what = "an exception that is not a std::exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  log::error("serve: internal error {}: {}", id, what);
  return HttpError(500, "server_error",
                   fmt::format("internal server error (id {}); the server log has the details under that id", id), "",
                   "internal_error");
}

}  // namespace nanochat::serve

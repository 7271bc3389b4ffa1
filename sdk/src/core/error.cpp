// Out-of-line destructors give the error types one home (libnanochat_core), so an
// exception thrown in a plugin is caught by type in the host.
#include "nanochat/error.hpp"

namespace nanochat {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

UsageError::UsageError(const std::string& message) : Error(message) {}
UsageError::~UsageError() = default;

}  // namespace nanochat

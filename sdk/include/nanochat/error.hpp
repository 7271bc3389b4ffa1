// Exceptions with messages a user can act on. The CLI prints what() as one line;
// UsageError (bad flags, unknown stage, missing plugin) exits with code 2, Error with 1.
#pragma once

#include <stdexcept>
#include <string>

namespace nanochat {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message);
  ~UsageError() override;
};

}  // namespace nanochat

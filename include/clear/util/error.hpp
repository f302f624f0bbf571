#pragma once
// One exception type for every bad input a user can give (a file, a field, a tensor, a flag).
// The CLI turns it into a message on stderr and exit status 2; anything else is a bug.
#include <stdexcept>
#include <string>

namespace clear {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace clear

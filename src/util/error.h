// Typed errors carrying a message a user can act on, plus the HTTP status they map to.
#pragma once
#include <stdexcept>
#include <string>

namespace util {

// An error with an HTTP status (400 bad request, 404 not found, ...). Library code throws
// these; the server maps them to {"error": message} with that status.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, int status = 500)
      : std::runtime_error(std::move(message)), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

inline Error bad_request(std::string m) { return Error(std::move(m), 400); }
inline Error not_found(std::string m) { return Error(std::move(m), 404); }

}  // namespace util

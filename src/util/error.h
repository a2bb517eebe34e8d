// Typed errors: a message a user can act on and the kind of failure it is. Library code (engine,
// ops, store, registry, ...) says what went wrong; only the API layer turns a kind into an HTTP
// status (api/status.h: http_status), and the client turns a server's status back into a kind.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace util {

enum class ErrorKind : uint8_t {
  kInternal,      // a bug or an unexpected failure of the system
  kBadRequest,    // the caller's input is malformed or out of range
  kBadModelFile,  // a model file that cannot be read: corrupt, truncated, inconsistent
  kUnsupported,   // valid input this build cannot run (a tensor type without kernels, ...)
  kNotFound,      // a named thing (model, blob, manifest) does not exist
  kUnauthorized,  // credentials missing or refused
  kTooLarge,      // a body or upload over its limit
  kConflict,      // another process holds what this needs (a download in progress)
  kCancelled,     // the client went away or asked to stop
  kUnavailable,   // busy, shutting down, unloading, out of threads: try again later
  kOutOfMemory,   // an allocation the request needs failed
  kNoSpace,       // the disk is full
  kDevice,        // the GPU failed (device lost): the work it held is gone
};

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ErrorKind kind = ErrorKind::kInternal)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

inline Error bad_request(std::string m) { return Error(std::move(m), ErrorKind::kBadRequest); }
inline Error not_found(std::string m) { return Error(std::move(m), ErrorKind::kNotFound); }

}  // namespace util

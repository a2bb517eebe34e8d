// The one place error kinds meet HTTP statuses: the server answers a util::Error with
// http_status(kind) (in each API's error shape), and the client turns a server's status back
// into a kind (kind_of_status), so callers of either test kinds, never numbers.
#pragma once
#include "util/error.h"

namespace api {

constexpr int http_status(util::ErrorKind k) {
  using K = util::ErrorKind;
  switch (k) {
    case K::kBadRequest:
    case K::kBadModelFile:
      return 400;
    case K::kUnauthorized:
      return 401;
    case K::kNotFound:
      return 404;
    case K::kConflict:
      return 409;
    case K::kTooLarge:
      return 413;
    case K::kCancelled:
      return 499;  // nginx's "client closed request", as Ollama logs it
    case K::kUnavailable:
      return 503;
    case K::kNoSpace:
      return 507;
    case K::kInternal:
    case K::kUnsupported:
    case K::kOutOfMemory:
    case K::kDevice:
      return 500;
  }
  return 500;
}

constexpr util::ErrorKind kind_of_status(int status) {
  using K = util::ErrorKind;
  switch (status) {
    case 400:
      return K::kBadRequest;
    case 401:
    case 403:
      return K::kUnauthorized;
    case 404:
      return K::kNotFound;
    case 409:
      return K::kConflict;
    case 413:
      return K::kTooLarge;
    case 499:
      return K::kCancelled;
    case 503:
      return K::kUnavailable;
    case 507:
      return K::kNoSpace;
    default:
      return K::kInternal;
  }
}

}  // namespace api

// Shared by the fuzz targets: running a call whose errors are an expected outcome.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <typeinfo>

#include "util/error.h"
#include "util/thread.h"

namespace fuzz {

// OLLAMA_FUZZ_STRICT=1 also makes a finding of any exception the server would answer with a 500
// (server/http.cpp error_reply): util::Error carries its own status and nlohmann's exceptions
// become 400s, but std::out_of_range, std::length_error, ... are "request failed" errors.
// OLLAMA_FUZZ_STRICT=2 only lists each such exception (type and message start) once.
inline int strict() {
  static const int level = [] {
    const char* v = std::getenv("OLLAMA_FUZZ_STRICT");
    return v && (*v == '1' || *v == '2') ? *v - '0' : 0;
  }();
  return level;
}

inline void report_escape(const std::exception& e) {
  static std::set<std::string> seen;
  std::string kind = std::string(typeid(e).name()) + ": " + std::string(e.what()).substr(0, 48);
  if (seen.insert(kind).second) std::fprintf(stderr, "strict: %s\n", kind.c_str());
  if (strict() == 1) std::abort();
}

// Runs `f`; returns false when it threw an expected error.
template <class F>
bool expect_ok_or_error(F&& f) {
  try {
    f();
    return true;
  } catch (const util::Error&) {
  } catch (const nlohmann::json::exception&) {
  } catch (const std::exception& e) {
    if (strict()) report_escape(e);
  }
  return false;
}

// Runs one input on a thread with the stack the server gives request work
// (util::kRequestStackBytes): JSON nested to Go's limit is walked recursively there.
template <class F>
void on_request_stack(F&& f) {
  util::Thread t(util::kRequestStackBytes, [&] { f(); });
  t.join();
}

}  // namespace fuzz

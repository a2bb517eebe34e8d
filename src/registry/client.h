// A registry session for one repository: base URL, auth challenges (Bearer token realm or
// Basic), and requests that retry once after authenticating (§8.7).
#pragma once
#include <string>

#include "registry/http.h"
#include "store/name.h"

namespace registry {

struct Options {
  bool insecure = false;  // plain http allowed (and used for hosts given without a scheme)
  std::string username;   // for Basic challenges (or as token-realm credentials)
  std::string password;
  // Where id_ed25519 lives (~/.ollama): token requests are signed with it (§8.7) when it
  // exists and no username is given. "" = unsigned.
  std::string key_dir;
  // Part sizing (§8.5): total/16 clamped to [min, max]; tests shrink min to exercise parts.
  int64_t part_min = 100'000'000;
  int64_t part_max = 1'000'000'000;
  int max_parts_in_flight = 16;
  int part_attempts = 6;
  long stall_timeout_s = 30;
  int base_backoff_ms = 1000;  // part retries sleep base, 2x base, 4x base...
};

// Parsed `WWW-Authenticate` challenge.
struct Challenge {
  std::string scheme;  // "Bearer" or "Basic"
  std::string realm, service, scope;
};
Challenge parse_challenge(const std::string& header);

class Client {
 public:
  Client(const store::ModelName& name, Options opts);

  const Options& options() const { return opts_; }
  const store::ModelName& name() const { return name_; }
  // "<scheme>://<host>"
  const std::string& base() const { return base_; }
  // "<ns>/<model>"
  std::string repository() const { return name_.name_space + "/" + name_.model; }
  std::string url(const std::string& path) const { return base_ + path; }

  // Sends with the current credentials; on 401 answers the challenge and retries once.
  HttpResponse send(HttpRequest req);
  // Authorization header line for requests to the registry host ("" when anonymous).
  std::string auth_header() const { return auth_; }
  // Whether the registry has answered any request of this session: a transfer retries
  // failures only once it has (an unreachable registry fails at once, as a pull does).
  bool reached() const { return reached_; }

 private:
  void authenticate(const std::string& www_authenticate);
  store::ModelName name_;
  Options opts_;
  std::string base_;
  std::string auth_;  // "Authorization: ..." line
  bool reached_ = false;
};

// Go-style user agent: ollama/<version> (<arch> <os>) C++.
std::string user_agent();

}  // namespace registry

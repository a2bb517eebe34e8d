// HTTP client for our own API (libcurl): JSON calls, NDJSON streams, blob uploads, heartbeat.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/status.h"
#include "api/version.h"
#include "util/error.h"

namespace client {

using nlohmann::json;

// The version this client reports (User-Agent, `ollama -v`): the build's version.
inline constexpr const char* kVersion = api::kVersion;

// Longest NDJSON line accepted from a stream (Ollama's scanner buffer: 8,000,000 bytes).
inline constexpr size_t kMaxLineBytes = 8'000'000;

// The message Ollama prints when nothing listens at OLLAMA_HOST.
inline constexpr char kConnectError[] =
    "could not connect to ollama server, run 'ollama serve' to start it";

// An HTTP status >= 400 from the server. what() is the text Ollama's client shows: the
// server's {"error"} message for plain calls, "<code> <reason>: <message>" for streams.
class StatusError : public util::Error {
 public:
  StatusError(int status, std::string message, std::string server_message)
      : util::Error(std::move(message), api::kind_of_status(status)),
        status_(status),
        server_message_(std::move(server_message)) {}
  int status() const { return status_; }
  // The bare {"error": ...} text (or body) the server sent.
  const std::string& server_message() const { return server_message_; }

 private:
  int status_;
  std::string server_message_;
};

// The transport failed (no connection, reset, timeout). refused() is true when the connection
// was refused, which is what the heartbeat turns into kConnectError.
class TransportError : public util::Error {
 public:
  TransportError(std::string message, bool refused)
      : util::Error(std::move(message), util::ErrorKind::kUnavailable), refused_(refused) {}
  bool refused() const { return refused_; }

 private:
  bool refused_;
};

// Thrown by stream() when the cancel flag was raised.
class Cancelled : public util::Error {
 public:
  Cancelled() : util::Error("context canceled", util::ErrorKind::kCancelled) {}
};

// Go's http.StatusText for a code ("Not Found"); "" for unknown codes.
std::string_view status_text(int code);

class Client {
 public:
  // base_url like "http://127.0.0.1:11434" (an optional path prefix is kept).
  explicit Client(std::string base_url);
  // Target from OLLAMA_HOST (unspecified bind addresses become loopback).
  static Client from_env();

  const std::string& base_url() const { return base_url_; }

  // HEAD /. Throws util::Error(kConnectError) when the connection is refused, else the
  // transport or status error.
  void heartbeat() const;

  // GET /api/version -> "x.y.z".
  std::string version() const;

  // One JSON request (body may be null for none). Returns the parsed response body, or null
  // when the body is empty. Throws StatusError (message = server's error text) for >= 400.
  json call(std::string_view method, std::string_view path, const json& body = nullptr) const;

  // A streaming request: calls on_object for every NDJSON line. A line {"error": m} aborts
  // with util::Error(m); a status >= 400 throws StatusError "<code> <reason>: <message>".
  // When `cancel` is set and becomes true the transfer stops and Cancelled is thrown.
  using ObjectFn = std::function<void(const json&)>;
  void stream(std::string_view method, std::string_view path, const json& body,
              const ObjectFn& on_object, const std::atomic<bool>* cancel = nullptr) const;

  // HEAD /api/blobs/<digest>: true when the server already has the blob.
  bool blob_exists(std::string_view digest) const;
  // POST /api/blobs/<digest> streaming the file from disk; progress(sent, total) is called as
  // bytes go out (from the transfer thread, i.e. this one).
  using ProgressFn = std::function<void(int64_t sent, int64_t total)>;
  void upload_blob(std::string_view digest, const std::string& path,
                   const ProgressFn& progress = nullptr) const;

 private:
  std::string base_url_;
};

// "ollama/<version> (<arch> <os>) Go/<version>": the shape Ollama's clients send.
std::string user_agent();

}  // namespace client

// Streaming responses (generate, chat, pull, push, create): NDJSON flushed per object, or the
// reduced final object when stream is false; errors before the first byte keep their status,
// errors after it become a final {"error": ...} line (§2.3).
#pragma once
#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>

namespace server {

using nlohmann::json;

// What a producer writes to. Safe to call from the producer thread only.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues one object for the client. Returns false once the client has gone or the server
  // is shutting down; the producer should then stop early (throwing is fine too).
  virtual bool send(const json& obj) = 0;
  // Same for an object whose key order matters (tool-call arguments keep the client's order).
  // The default loses the order; the streaming writer keeps it.
  virtual bool send(const nlohmann::ordered_json& obj) { return send(json(obj)); }
  // True once the client disconnected or the server is stopping.
  virtual bool cancelled() const = 0;
};

using Producer = std::function<void(StreamWriter&)>;
// Folds the next object into the accumulated response for stream:false. nullptr = keep the
// last object (pull/push/create).
using Reducer = std::function<void(json& acc, const json& next)>;

// Answers the request by running `producer`. With stream=true it runs on its own thread while
// this connection's thread writes the NDJSON chunks; with stream=false it runs inline.
// Exceptions: util::Error's status (else 500) when nothing was sent yet; an error line after.
void respond_stream(httplib::Response& res, bool stream, Producer producer,
                    Reducer reduce = nullptr);

// Set on SIGINT/SIGTERM: every StreamWriter reports cancelled() from then on.
void set_streams_shutting_down();

}  // namespace server

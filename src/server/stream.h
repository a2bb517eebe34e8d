// Streaming responses (generate, chat, pull, push, create): NDJSON flushed per object, or the
// reduced final object when stream is false; errors before the first byte keep their status,
// errors after it become a final {"error": ...} line (§2.3).
#pragma once
#include <httplib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>

#include "server/connections.h"

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
  // Stopped when the producer should stop waiting (for a model, a slot, the next token).
  virtual std::stop_token cancel_token() const = 0;
  // Queues bytes already framed for the wire (an SSE event). Only a streaming writer made by
  // respond_frames takes frames; the others refuse them (false).
  virtual bool send_frame(std::string frame) { return false; }
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

// How a streamed answer is framed: NDJSON (send(json) objects) by default; the compatible
// APIs stream SSE frames (send_frame) in their own error shapes.
struct Framing {
  std::string content_type = "application/x-ndjson";
  // The frame that ends a stream cut by an error after its first frame; null: NDJSON's
  // {"error": message} line.
  std::function<std::string(int status, const std::string& message)> late_error;
  // The answer to an error before the first frame; null: {"error": message} with its status.
  std::function<void(httplib::Response&, int status, const std::string& message)> early_error;
};

// respond_stream(stream=true) with another framing: `producer` runs on its own thread while
// this connection's thread writes what it queues.
void respond_frames(httplib::Response& res, const Framing& framing, Producer producer);

// A writer for a stream produced on the connection's own thread (respond_steps): frames sent
// before the body starts are held, then written with the ones after, straight to the socket.
class DirectWriter : public StreamWriter {
 public:
  DirectWriter() : client_(current_client()) {}
  bool send(const json& obj) override;
  bool send(const nlohmann::ordered_json& obj) override;
  bool send_frame(std::string frame) override;
  bool cancelled() const override;
  std::stop_token cancel_token() const override { return client_.end_token(); }

 private:
  friend void respond_steps(httplib::Response&, const Framing&, std::shared_ptr<DirectWriter>,
                            std::function<bool()>, std::function<std::function<bool()>()>);
  std::string held_;                   // frames before the body started
  httplib::DataSink* sink_ = nullptr;  // set while the body is being written
  bool gone_ = false;
  ClientWatch client_;  // the connection of the request that made it
};

// Streams without a thread of its own. `start` runs now, on this thread, then (when it returns
// true) the steps `open` gives run here until the first frame is sent: until then frames are
// held, and an exception is answered with framing.early_error, its status kept. The chunked
// body then writes the held frames and runs the remaining steps on this connection's thread,
// each frame written as it is sent; an exception there ends the body with framing.late_error.
void respond_steps(httplib::Response& res, const Framing& framing, std::shared_ptr<DirectWriter> w,
                   std::function<bool()> start, std::function<std::function<bool()>()> open);

}  // namespace server

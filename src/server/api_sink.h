// The compatible APIs' side of the typed seam (gen_run.h): a GenSink that translates a
// generation into one API's wire format, as server-sent events while streaming or as one body
// at the end, and the helper that answers a request with it.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "server/connections.h"
#include "server/gen_run.h"
#include "server/stream.h"

namespace server {

// `data: <json>\n\n` and `event: <type>\ndata: <json>\n\n` (invalid UTF-8 replaced).
std::string sse_data(const nlohmann::ordered_json& j);
std::string sse_event(const std::string& type, const nlohmann::ordered_json& j);

class ApiSink : public GenSink {
 public:
  // w: the stream's writer; null when the answer is one body.
  explicit ApiSink(StreamWriter* w) : w_(w) {}
  bool cancelled() const override { return w_ ? w_->cancelled() : client_.gone(); }
  std::stop_token cancel_token() const override {
    return w_ ? w_->cancel_token() : client_.gone_token();
  }
  // stream:false: the answer, after finish.
  virtual nlohmann::ordered_json body() = 0;

 protected:
  bool streaming() const { return w_ != nullptr; }
  // Queues one frame while streaming (false: the client has gone); nothing otherwise.
  bool emit(std::string frame) { return w_ ? w_->send_frame(std::move(frame)) : true; }

 private:
  StreamWriter* w_;
  ClientWatch client_ = current_client();
};

using MakeSink = std::function<std::unique_ptr<ApiSink>(StreamWriter* w)>;

// Answers with `run` into the sink `make` builds: streamed as `framing` (stream_run, both steps
// on this connection's thread; an error in the start step is `framing.early_error`'s), or run
// here and answered with the sink's body (errors thrown to the caller).
void respond_api(httplib::Response& res, bool stream, const Framing& framing, const GenRun& run,
                 const MakeSink& make);

}  // namespace server

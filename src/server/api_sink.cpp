#include "server/api_sink.h"

namespace server {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

}  // namespace

std::string sse_data(const ojson& j) { return "data: " + dump(j) + "\n\n"; }

std::string sse_event(const std::string& type, const ojson& j) {
  return "event: " + type + "\ndata: " + dump(j) + "\n\n";
}

void respond_api(httplib::Response& res, bool stream, const Framing& framing, const GenRun& run,
                 const MakeSink& make) {
  if (stream) {
    stream_run(res, framing, run,
               [make](StreamWriter& w) -> std::shared_ptr<GenSink> { return make(&w); });
    return;
  }
  std::unique_ptr<ApiSink> sink = make(nullptr);
  run(*sink);
  res.status = 200;
  res.set_content(dump(sink->body()), "application/json; charset=utf-8");
}

}  // namespace server

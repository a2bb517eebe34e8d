// libFuzzer target: request-body decoding with Go's rules: /api/generate and /api/chat, the
// runtime option checks (create::validate_params), and the model-management requests and
// replies of api/types.h (decoded by the server and the client).
#include <cstdint>
#include <string>
#include <string_view>

#include "api/decode.h"
#include "api/generate.h"
#include "api/options.h"
#include "api/types.h"
#include "fuzz_util.h"

namespace {

// Decodes `j` as T and writes it back: the server echoes decoded fields into replies and logs.
template <class T>
void round_trip(const api::json& j) {
  fuzz::expect_ok_or_error([&] {
    T v = j.get<T>();
    api::json back = v;
    (void)back.dump(-1, ' ', false, api::json::error_handler_t::replace);
  });
}

void touch(const api::GenerationFields& r) {
  (void)r.format.dump(-1, ' ', false, api::json::error_handler_t::replace);
  (void)r.options.dump(-1, ' ', false, api::json::error_handler_t::replace);
}

}  // namespace

static int run_one(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  fuzz::expect_ok_or_error([&] { touch(api::parse_generate_request(body)); });
  fuzz::expect_ok_or_error([&] {
    api::ChatRequest r = api::parse_chat_request(body);
    touch(r);
    for (const auto& m : r.messages)
      (void)m.tool_calls.dump(-1, ' ', false, api::ojson::error_handler_t::replace);
    (void)r.tools.dump(-1, ' ', false, api::ojson::error_handler_t::replace);
  });

  api::json j;
  if (!fuzz::expect_ok_or_error([&] { j = api::parse_body(body); })) return 0;
  // Runtime options as the server merges and checks them (also at /api/create).
  for (const char* key : {"options", "parameters"})
    if (j.is_object() && j.contains(key))
      fuzz::expect_ok_or_error([&] { (void)api::Options::parse(j[key]); });
  round_trip<api::ShowRequest>(j);
  round_trip<api::CreateRequest>(j);
  round_trip<api::CopyRequest>(j);
  round_trip<api::DeleteRequest>(j);
  round_trip<api::Message>(j);
  round_trip<api::ErrorResponse>(j);
  round_trip<api::VersionResponse>(j);
  round_trip<api::ProgressResponse>(j);
  round_trip<api::ListResponse>(j);
  round_trip<api::ShowResponse>(j);
  round_trip<api::ProcessResponse>(j);
  if (j.is_object()) {
    fuzz::expect_ok_or_error([&] { (void)api::parse_keep_alive(&j["keep_alive"]); });
    fuzz::expect_ok_or_error([&] { (void)api::parse_think(&j["think"]); });
    for (const char* key : {"modified_at", "expires_at", "created_at"}) {
      auto it = j.find(key);
      if (it == j.end() || !it->is_string()) continue;
      fuzz::expect_ok_or_error([&] {
        api::Timestamp t = api::parse_rfc3339(it->get_ref<const std::string&>());
        (void)api::format_rfc3339_nano(t);
      });
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int rc = 0;
  fuzz::on_request_stack([&] { rc = run_one(data, size); });
  return rc;
}

// Wire types (api/types.h): field names, omitempty, Go decoder errors, RFC 3339 timestamps.
#include <gtest/gtest.h>

#include <cstdlib>

#include "api/decode.h"
#include "api/status.h"
#include "api/time.h"
#include "api/types.h"
#include "util/error.h"

namespace api {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    return e.what();
  }
  return "<no error>";
}

TEST(ApiTime, FormatUtc) {
  auto t = Timestamp::from_unix_nanos_utc(1691176965499127000);
  EXPECT_EQ(format_rfc3339_nano(t), "2023-08-04T19:22:45.499127Z");
  EXPECT_EQ(format_rfc3339_nano(Timestamp::from_unix_nanos_utc(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(Timestamp::from_unix_nanos_utc(1'500'000'000)),
            "1970-01-01T00:00:01.5Z");
  EXPECT_EQ(format_rfc3339_nano(Timestamp{}), "0001-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(Timestamp::from_unix_nanos_utc(-1)),
            "1969-12-31T23:59:59.999999999Z");
}

TEST(ApiTime, FormatOffsetAndParse) {
  Timestamp t = Timestamp::from_unix_nanos_utc(1714557600'000000000);  // 2024-05-01T10:00Z
  t.utc_offset_s = 2 * 3600;
  EXPECT_EQ(format_rfc3339_nano(t), "2024-05-01T12:00:00+02:00");
  t.utc_offset_s = -(5 * 3600 + 30 * 60);
  EXPECT_EQ(format_rfc3339_nano(t), "2024-05-01T04:30:00-05:30");
  auto p = parse_rfc3339("2024-05-01T04:30:00.25-05:30");
  EXPECT_EQ(p.unix_seconds, 1714557600);
  EXPECT_EQ(p.nanos, 250000000);
  EXPECT_EQ(p.utc_offset_s, -(5 * 3600 + 30 * 60));
  EXPECT_EQ(parse_rfc3339("2023-08-04T19:22:45.499127Z").unix_nanos(), 1691176965499127000);
  EXPECT_THROW(parse_rfc3339("2023-08-04 19:22:45Z"), util::Error);
  EXPECT_THROW(parse_rfc3339("2023-08-04T19:22:45"), util::Error);
}

TEST(ApiTime, LocalUsesTz) {
  setenv("TZ", "Asia/Kolkata", 1);
  tzset();
  auto t = Timestamp::from_unix_nanos_local(0);
  unsetenv("TZ");
  tzset();
  EXPECT_EQ(format_rfc3339_nano(t), "1970-01-01T05:30:00+05:30");
}

TEST(ApiDecode, BodyErrors) {
  EXPECT_EQ(error_of([] { parse_body(""); }), "missing request body");
  EXPECT_EQ(error_of([] { parse_body("  \n"); }), "missing request body");
  EXPECT_EQ(error_of([] { parse_body("{\"model\":"); }), "unexpected EOF");
  EXPECT_EQ(error_of([] { parse_body("{model}"); }),
            "invalid character 'm' looking for beginning of object key string");
  EXPECT_EQ(error_of([] { parse_body("xyz"); }),
            "invalid character 'x' looking for beginning of value");
  EXPECT_EQ(error_of([] { parse_body("\xff"); }),
            "invalid character '\xc3\xbf' looking for beginning of value");
  EXPECT_EQ(error_of([] { parse_body("{} x"); }), "invalid character 'x' after top-level value");
  EXPECT_EQ(parse_body("{\"a\":1}")["a"], 1);
}

TEST(ApiDecode, WrongTypes) {
  EXPECT_EQ(error_of([] { json::parse(R"({"model": 5})").get<ShowRequest>(); }),
            "json: cannot unmarshal number into Go struct field ShowRequest.model of type string");
  EXPECT_EQ(error_of([] { json::parse(R"({"verbose": "yes"})").get<ShowRequest>(); }),
            "json: cannot unmarshal string into Go struct field ShowRequest.verbose of type bool");
  EXPECT_EQ(error_of([] { json::parse(R"([1])").get<CopyRequest>(); }),
            "json: cannot unmarshal array into Go value of type api.CopyRequest");
  EXPECT_EQ(error_of([] { json::parse(R"({"files": {"a": 1}})").get<CreateRequest>(); }),
            "json: cannot unmarshal number into Go struct field CreateRequest.files of type "
            "string");
  EXPECT_EQ(error_of([] { json::parse(R"({"license": 3})").get<CreateRequest>(); }),
            "json: cannot unmarshal number into Go struct field CreateRequest.license of type "
            "string or []string");
  // null leaves the default.
  auto r = json::parse(R"({"model": null, "name": "x", "stream": null})").get<CreateRequest>();
  EXPECT_EQ(r.model, "x");
  EXPECT_FALSE(r.stream.has_value());
}

TEST(ApiTypes, CreateRequestDecode) {
  auto r = json::parse(R"({"name":"m","quantization":"q4_K_M","stream":false,
      "files":{"a.gguf":"sha256:00"},"license":"MIT","template":"{{ .Prompt }}",
      "parameters":{"stop":["x"]},"messages":[{"role":"USER","content":"hi"}],
      "requires":"0.14.0"})")
               .get<CreateRequest>();
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.quantize, "q4_K_M");
  EXPECT_EQ(r.stream, std::optional<bool>(false));
  EXPECT_EQ(r.files.at("a.gguf"), "sha256:00");
  EXPECT_EQ(r.license, std::vector<std::string>{"MIT"});
  EXPECT_EQ(r.template_text, "{{ .Prompt }}");
  EXPECT_EQ(r.parameters["stop"][0], "x");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].role, "user");  // lower-cased on decode
  EXPECT_EQ(r.requires_version, "0.14.0");
  json back = r;
  EXPECT_EQ(back["model"], "m");
  EXPECT_EQ(back["license"], json::array({"MIT"}));
  EXPECT_FALSE(back.contains("system"));
  EXPECT_FALSE(back.contains("adapters"));
}

TEST(ApiTypes, ProgressOmitEmpty) {
  EXPECT_EQ(json(ProgressResponse{"success"}).dump(), R"({"status":"success"})");
  EXPECT_EQ(json(ProgressResponse{"pulling abc", "sha256:abc", 10, 5}).dump(),
            R"({"completed":5,"digest":"sha256:abc","status":"pulling abc","total":10})");
  auto p = json::parse(R"({"status":"x","total":3})").get<ProgressResponse>();
  EXPECT_EQ(p.total, 3);
  EXPECT_EQ(p.completed, 0);
}

TEST(ApiTypes, ListAndDetails) {
  ListModel m;
  m.name = m.model = "llama3.2:latest";
  m.size = 42;
  m.digest = "abc";
  m.modified_at = Timestamp::from_unix_nanos_utc(1'000'000'001);
  m.details.format = "gguf";
  json j = ListResponse{{m}};
  const json& e = j["models"][0];
  EXPECT_EQ(e["modified_at"], "1970-01-01T00:00:01.000000001Z");
  EXPECT_TRUE(e["details"]["families"].is_null());
  EXPECT_EQ(e["details"]["parent_model"], "");
  EXPECT_FALSE(e["details"].contains("context_length"));
  EXPECT_FALSE(e.contains("remote_host"));
  EXPECT_FALSE(e.contains("capabilities"));
  auto back = j.get<ListResponse>();
  ASSERT_EQ(back.models.size(), 1u);
  EXPECT_EQ(back.models[0].modified_at, m.modified_at);
  EXPECT_EQ(back.models[0].size, 42);
}

TEST(ApiTypes, ShowResponseShape) {
  ShowResponse s;
  json j = s;
  EXPECT_TRUE(j["model_info"].is_object());
  EXPECT_TRUE(j.contains("details"));
  EXPECT_TRUE(j.contains("modified_at"));
  for (const char* k : {"license", "modelfile", "parameters", "template", "system", "messages",
                        "tensors", "capabilities", "projector_info", "requires"})
    EXPECT_FALSE(j.contains(k)) << k;
  s.template_text = "{{ .Prompt }}";
  s.tensors = {{"t", "F32", {2, 3}}};
  s.capabilities = {"completion"};
  j = s;
  EXPECT_EQ(j["template"], "{{ .Prompt }}");
  EXPECT_EQ(j["tensors"][0].dump(), R"({"name":"t","shape":[2,3],"type":"F32"})");
  auto back = j.get<ShowResponse>();
  EXPECT_EQ(back.capabilities, std::vector<std::string>{"completion"});
}

TEST(ApiTypes, ProcessResponse) {
  ProcessModel pm;
  pm.name = pm.model = "m:latest";
  json j = ProcessResponse{{pm}};
  EXPECT_EQ(j["models"][0]["expires_at"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["models"][0]["size_vram"], 0);
  EXPECT_EQ(j["models"][0]["context_length"], 0);
  EXPECT_EQ(json(ProcessResponse{}).dump(), R"({"models":[]})");
}

TEST(ApiTypes, MessageOmitEmpty) {
  json j = Message{"user", ""};
  EXPECT_EQ(j.dump(), R"({"content":"","role":"user"})");
}

}  // namespace
}  // namespace api

#include <fstream>
#include <regex>
#include <sstream>

#include "api/version.h"

namespace api {
namespace {

TEST(ApiVersion, MatchesCMakeProjectVersion) {
  std::ifstream in(std::string(OLLAMA_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  std::smatch m;
  std::string text = ss.str();
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(project\(\w+ VERSION ([0-9.]+))")));
  EXPECT_EQ(m[1].str(), kVersion);
}

}  // namespace
}  // namespace api

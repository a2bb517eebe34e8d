// /api/generate and /api/chat request decoding and option handling (api/generate.h,
// server/generation.h): keep_alive, think, options types, bad JSON, tool-call argument order.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "api/generate.h"
#include "api/options.h"
#include "api/status.h"
#include "server/generation.h"
#include "util/duration.h"
#include "util/error.h"

namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& fn, int* status = nullptr) {
  try {
    fn();
  } catch (const util::Error& e) {
    if (status) *status = api::http_status(e.kind());
    return e.what();
  }
  return "<no error>";
}

std::optional<int64_t> keep_alive(const std::string& body) {
  return api::parse_generate_request(R"({"model":"m","keep_alive":)" + body + "}").keep_alive_ns;
}

TEST(GenerateRequest, KeepAliveForms) {
  EXPECT_EQ(keep_alive("300"), 300 * util::kNanosPerSecond);
  EXPECT_EQ(keep_alive("1.5"), 1'500'000'000);
  EXPECT_EQ(keep_alive("0"), 0);
  EXPECT_EQ(keep_alive(R"("5m")"), 300 * util::kNanosPerSecond);
  EXPECT_EQ(keep_alive(R"("1h30m")"), 5400 * util::kNanosPerSecond);
  EXPECT_EQ(keep_alive(R"("300ms")"), 300'000'000);
  EXPECT_EQ(keep_alive("-1"), util::kForever);
  EXPECT_EQ(keep_alive(R"("-1m")"), util::kForever);
  EXPECT_EQ(keep_alive("null"), std::nullopt);
  EXPECT_EQ(api::parse_generate_request(R"({"model":"m"})").keep_alive_ns, std::nullopt);
  int status = 0;
  EXPECT_EQ(error_of([] { keep_alive(R"("3600")"); }, &status),
            "time: missing unit in duration \"3600\"");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error_of([] { keep_alive("true"); }), "Unsupported type: 'bool'");
  EXPECT_EQ(error_of([] { keep_alive("[1]"); }), "Unsupported type: '[]interface {}'");
}

api::ThinkValue think(const std::string& v) {
  return api::parse_chat_request(R"({"model":"m","think":)" + v + "}").think;
}

TEST(GenerateRequest, ThinkValues) {
  EXPECT_FALSE(think("null").set);
  auto t = think("true");
  EXPECT_TRUE(t.set && t.enabled && t.level.empty());
  t = think("false");
  EXPECT_TRUE(t.set && !t.enabled);
  for (const char* level : {"low", "medium", "high", "max"}) {
    t = think(std::string("\"") + level + "\"");
    EXPECT_TRUE(t.set && t.enabled);
    EXPECT_EQ(t.level, level);
  }
  const std::string tail = " (must be \"high\", \"medium\", \"low\", \"max\", true, or false)";
  int status = 0;
  EXPECT_EQ(error_of([] { think(R"("hard")"); }, &status), "invalid think value: \"hard\"" + tail);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error_of([] { think("3"); }), "invalid think value: 3" + tail);
}

TEST(GenerateRequest, FieldsAndDefaults) {
  auto r = api::parse_generate_request(
      R"({"name":"old","prompt":"p","suffix":"s","system":"y","template":"t","raw":true,
          "context":[1,2,3],"stream":false,"images":["aGk="],"truncate":false,"shift":false,
          "logprobs":true,"top_logprobs":3,"options":{"temperature":0}})");
  EXPECT_EQ(r.model, "old");  // deprecated `name`
  EXPECT_EQ(r.prompt, "p");
  EXPECT_EQ(r.suffix, "s");
  EXPECT_EQ(r.system, "y");
  EXPECT_EQ(r.template_text, "t");
  EXPECT_TRUE(r.raw);
  EXPECT_EQ(r.context, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.stream, false);
  EXPECT_EQ(r.images.size(), 1u);
  EXPECT_FALSE(r.truncate);
  EXPECT_FALSE(r.shift);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_EQ(r.options["temperature"], 0);

  auto d = api::parse_generate_request(R"({"model":"m"})");
  EXPECT_EQ(d.stream, std::nullopt);
  EXPECT_TRUE(d.truncate);
  EXPECT_TRUE(d.shift);
  EXPECT_TRUE(d.format.is_null());
}

TEST(GenerateRequest, BadBodies) {
  int status = 0;
  EXPECT_EQ(error_of([] { api::parse_generate_request(""); }, &status), "missing request body");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error_of([] { api::parse_generate_request(R"({"model":)"); }), "unexpected EOF");
  EXPECT_EQ(error_of([] { api::parse_chat_request("[1]"); }),
            "json: cannot unmarshal array into Go value of type api.ChatRequest");
  EXPECT_EQ(error_of([] { api::parse_generate_request(R"({"prompt":1})"); }),
            "json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type "
            "string");
  EXPECT_EQ(error_of([] { api::parse_chat_request(R"({"messages":{}})"); }),
            "json: cannot unmarshal object into Go struct field ChatRequest.messages of type "
            "[]api.Message");
  EXPECT_EQ(error_of([] { api::parse_chat_request(R"({"options":[]})"); }, &status).substr(0, 25),
            "json: cannot unmarshal ar");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error_of([] { api::parse_generate_request(R"({"top_logprobs":21})"); }),
            "top_logprobs must be between 0 and 20");
}

TEST(ChatRequest, MessagesToolsAndArgumentOrder) {
  auto r = api::parse_chat_request(R"({"model":"m","messages":[
      {"role":"SYSTEM","content":"s"},
      {"role":"Assistant","content":"","tool_calls":[{"function":{"name":"get_weather",
        "arguments":{"zeta":1,"alpha":{"y":2,"b":3},"mid":"x"}}}]},
      {"role":"tool","content":"sunny","tool_name":"get_weather","tool_call_id":"call_1"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
      "properties":{"zz":{"type":"string"},"aa":{"type":"number"}}}}}]})");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].role, "assistant");
  EXPECT_EQ(r.messages[1].tool_calls[0]["function"]["arguments"].dump(),
            R"({"zeta":1,"alpha":{"y":2,"b":3},"mid":"x"})");
  EXPECT_EQ(r.messages[1].tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(r.messages[2].tool_name, "get_weather");
  EXPECT_EQ(r.messages[2].tool_call_id, "call_1");
  EXPECT_EQ(r.tools[0]["function"]["parameters"]["properties"].dump(),
            R"({"zz":{"type":"string"},"aa":{"type":"number"}})");
  // Arguments sent JSON-encoded are accepted as an object.
  auto s = api::parse_chat_request(R"({"messages":[{"role":"assistant","tool_calls":[
      {"function":{"name":"f","arguments":"{\"b\":1,\"a\":2}"}}]}]})");
  EXPECT_EQ(s.messages[0].tool_calls[0]["function"]["arguments"].dump(), R"({"b":1,"a":2})");
}

TEST(Options, TypesAreChecked) {
  int status = 0;
  EXPECT_EQ(error_of(
                [] {
                  api::Options::parse(json{{"num_predict", "many"}});
                },
                &status),
            "option \"num_predict\" must be of type integer");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error_of([] {
              api::Options::parse(json{{"temperature", "hot"}});
            }),
            "option \"temperature\" must be of type float32");
  EXPECT_EQ(error_of([] {
              api::Options::parse(json{{"use_mmap", 1}});
            }),
            "option \"use_mmap\" must be of type boolean");
  EXPECT_EQ(error_of([] {
              api::Options::parse(json{{"stop", "x"}});
            }),
            "option \"stop\" must be of type array");
  // Ints given as floats are truncated; unknown and deprecated keys are dropped.
  api::Options o = api::Options::parse(json{{"num_predict", 7.9},
                                            {"top_p", 1},
                                            {"bogus", 1},
                                            {"mirostat", 2},
                                            {"stop", {"a"}},
                                            {"seed", nullptr}});
  api::Options want;
  want.num_predict = 7;
  want.top_p = 1.0f;
  want.stop = std::vector<std::string>{"a"};
  EXPECT_EQ(o, want);
  // Integers saturate at the engine's int range; num_batch and num_thread are clamped.
  o = api::Options::parse(json{
      {"num_predict", 1e30}, {"num_ctx", -1e30}, {"num_batch", 1 << 20}, {"num_thread", 1 << 20}});
  EXPECT_EQ(o.num_predict, INT32_MAX);
  EXPECT_EQ(o.num_ctx, INT32_MIN);
  EXPECT_EQ(o.num_batch, api::kMaxNumBatch);
  EXPECT_LE(*o.num_thread, 1 << 10);
  EXPECT_EQ(error_of([] {
              api::Options::parse(json{{"stop", {"a", 1}}});
            }),
            "option \"stop\" must be of type array of strings");
  EXPECT_EQ(error_of([] {
              api::Options::parse(json{{"top_p", std::nan("")}});
            }),
            "option \"top_p\" must be of type float32");
}

TEST(Options, TableNamesEveryField) {
  // Each option set through JSON lands in its own field: no two entries share one.
  api::Options all;
  json every = json::object();
  for (const auto& info : api::option_table()) {
    json v;
    switch (info.type) {
      case api::OptionType::kInt:
        v = 3;
        break;
      case api::OptionType::kFloat:
        v = 0.5;
        break;
      case api::OptionType::kBool:
        v = true;
        break;
      case api::OptionType::kStringList:
        v = json::array({"s"});
        break;
    }
    api::Options one = api::Options::parse(json{{info.name, v}});
    EXPECT_NE(one, api::Options()) << info.name;
    api::Options before = all;
    all.merge(one);
    EXPECT_NE(all, before) << info.name << " shares a field with an earlier option";
    every[info.name] = v;
  }
  EXPECT_EQ(api::option_table().size(), 20u);
  EXPECT_EQ(api::Options::parse(every), all);
}

TEST(Options, ModelParamsThenRequestThenRunnerRequest) {
  nlohmann::ordered_json params = {{"temperature", 0.2}, {"stop", {"<|end|>"}}, {"top_k", 7}};
  api::Options merged = server::merge_options(
      params, json{{"temperature", 0}, {"num_predict", 12}, {"top_k", nullptr}});
  auto r = server::completion_request(merged);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_k, 7);
  EXPECT_EQ(r.num_predict, 12);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"<|end|>"}));
  auto d = server::completion_request(api::Options());  // Ollama's defaults
  EXPECT_FLOAT_EQ(d.sampling.temperature, 0.8f);
  EXPECT_EQ(d.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(d.sampling.top_p, 0.9f);
  EXPECT_FLOAT_EQ(d.sampling.repeat_penalty, 1.0f);
  EXPECT_EQ(d.num_keep, 4);
  EXPECT_EQ(d.num_predict, -1);
  EXPECT_EQ(error_of([&] {
              server::merge_options(params, json{{"top_k", "x"}});
            }),
            "option \"top_k\" must be of type integer");
}

TEST(Format, SpecKeepsTheSchemaInTheBodysKeyOrder) {
  EXPECT_EQ(server::format_spec(nullptr, "{}"), "");
  EXPECT_EQ(server::format_spec("", "{}"), "");
  EXPECT_EQ(server::format_spec("json", "{}"), "json");
  const std::string body =
      R"({"model":"m","format":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}}})";
  const json parsed = json::parse(body);  // sorted keys: alpha before zeta
  EXPECT_EQ(
      server::format_spec(parsed["format"], body),
      R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}})");
  int status = 0;
  EXPECT_EQ(error_of([] { server::format_spec("yaml", "{}"); }, &status),
            "invalid format: \"yaml\"; expected \"json\" or a valid JSON Schema object");
  EXPECT_EQ(status, 400);
  EXPECT_NE(error_of([] { server::format_spec(json::array({1}), "{}"); }), "<no error>");
  const std::string bad = R"({"format":{"type":"integer","minimum":3,"maximum":1}})";
  EXPECT_NE(error_of([&] { server::format_spec(json::parse(bad)["format"], bad); }, &status)
                .find("format:"),
            std::string::npos);
  EXPECT_EQ(status, 400);
}

TEST(Logprobs, WireShapeWithBytes) {
  runner::TokenLogprob t{" h\xc3\xa9", -0.5, {{" h\xc3\xa9", -0.5, {}}, {"x", -2.0, {}}}};
  auto j = server::logprobs_json({t});
  EXPECT_EQ(j.dump(), R"([{"token":" hé","logprob":-0.5,"bytes":[32,104,195,169],"top_logprobs":[)"
                      R"({"token":" hé","logprob":-0.5,"bytes":[32,104,195,169]},)"
                      R"({"token":"x","logprob":-2.0,"bytes":[120]}]}])");
  runner::TokenLogprob plain{"a", -1.0, {}};
  EXPECT_FALSE(server::logprobs_json({plain})[0].contains("top_logprobs"));
}

TEST(ToolCalls, WireShapeKeepsArgumentOrder) {
  prompt::ToolCall c;
  c.id = "call_abc12345";
  c.index = 1;
  c.name = "f";
  c.arguments = prompt::Json::parse(R"({"z":1,"a":2})");
  EXPECT_EQ(
      server::tool_calls_json({c}).dump(),
      R"([{"id":"call_abc12345","function":{"index":1,"name":"f","arguments":{"z":1,"a":2}}}])");
}

}  // namespace

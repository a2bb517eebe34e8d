#include "prompt/template.h"

#include <gtest/gtest.h>

#include <chrono>

#include "api/status.h"
#include "prompt/builtin.h"
#include "prompt/chat.h"

using prompt::Json;
using prompt::Template;
using prompt::TemplateError;

static std::string run(const std::string& t, const Json& data = Json::object()) {
  return Template::parse(t).execute(data);
}

TEST(Template, TextAndFields) {
  EXPECT_EQ(run("hello"), "hello");
  EXPECT_EQ(run("{{ .A }}-{{ .B.C }}", {{"A", "x"}, {"B", {{"C", 3}}}}), "x-3");
  EXPECT_EQ(run("[{{ .Missing }}]", Json::object()), "[<no value>]");
  EXPECT_EQ(run("{{ .F }} {{ .T }} {{ .N }}", {{"F", 0.5}, {"T", true}, {"N", -7}}), "0.5 true -7");
}

TEST(Template, WhitespaceTrimming) {
  EXPECT_EQ(run("a  {{- .X -}}  b", {{"X", "|"}}), "a|b");
  EXPECT_EQ(run("a\n\n{{- .X }}\n", {{"X", 1}}), "a1\n");
  EXPECT_EQ(run("{{-3}}"), "-3");  // not a trim marker without a space
  EXPECT_EQ(run("x {{- /* comment */ -}} y"), "xy");
  EXPECT_EQ(run("x{{/* c */}}y"), "xy");
}

TEST(Template, IfElseChains) {
  const char* t = "{{ if eq .R \"a\" }}A{{ else if eq .R \"b\" }}B{{ else }}C{{ end }}";
  EXPECT_EQ(run(t, {{"R", "a"}}), "A");
  EXPECT_EQ(run(t, {{"R", "b"}}), "B");
  EXPECT_EQ(run(t, {{"R", "z"}}), "C");
  EXPECT_EQ(run("{{ if .L }}y{{ else }}n{{ end }}", {{"L", Json::array()}}), "n");
  EXPECT_EQ(run("{{ if .S }}y{{ else }}n{{ end }}", {{"S", ""}}), "n");
  EXPECT_EQ(run("{{ if and .A .B }}y{{ end }}{{ if or .A .B }}o{{ end }}", {{"A", 1}, {"B", 0}}),
            "o");
  EXPECT_EQ(run("{{ if not .A }}n{{ end }}", {{"A", false}}), "n");
  EXPECT_EQ(run("{{ and 1 0 2 }} {{ or 0 \"\" \"z\" }}"), "0 z");
}

TEST(Template, RangeWithIndexAndElse) {
  Json d = {
      {"M", {{{"Role", "user"}, {"Content", "hi"}}, {{"Role", "assistant"}, {"Content", "yo"}}}}};
  EXPECT_EQ(run("{{ range $i, $m := .M }}{{ $i }}:{{ $m.Role }}={{ .Content }};{{ end }}", d),
            "0:user=hi;1:assistant=yo;");
  EXPECT_EQ(run("{{ range .E }}x{{ else }}empty{{ end }}", {{"E", Json::array()}}), "empty");
  EXPECT_EQ(
      run("{{ range $k, $v := .O }}{{ $k }}={{ $v }},{{ end }}", {{"O", {{"b", 2}, {"a", 1}}}}),
      "a=1,b=2,");
  EXPECT_EQ(
      run("{{ range $i, $m := .M }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $m.Role }}{{ end }}", d),
      "user");
  EXPECT_EQ(
      run("{{ range .M }}{{ if eq .Role \"user\" }}{{ continue }}{{ end }}{{ .Content }}{{ end }}",
          d),
      "yo");
  // $ is the root inside range.
  EXPECT_EQ(run("{{ range .M }}{{ $.S }}{{ end }}", {{"M", {1, 2}}, {"S", "s"}}), "ss");
}

TEST(Template, LastMessageIdiom) {
  // The idiom Ollama's library templates use to detect the last message.
  const char* t =
      "{{- range $i, $_ := .Messages }}{{- $last := eq (len (slice $.Messages $i)) 1 -}}"
      "{{ .Content }}{{ if $last }}!{{ else }}, {{ end }}{{- end }}";
  Json d = {{"Messages", {{{"Content", "a"}}, {{"Content", "b"}}, {{"Content", "c"}}}}};
  EXPECT_EQ(run(t, d), "a, b, c!");
}

TEST(Template, WithAndVariables) {
  EXPECT_EQ(run("{{ with .A }}[{{ . }}]{{ else }}none{{ end }}", {{"A", "v"}}), "[v]");
  EXPECT_EQ(run("{{ with .A }}[{{ . }}]{{ else }}none{{ end }}", Json::object()), "none");
  EXPECT_EQ(run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
  EXPECT_EQ(run("{{ $x := \"a\" }}{{ $x }}{{ $x := \"b\" }}{{ $x }}"), "ab");
}

TEST(Template, Functions) {
  EXPECT_EQ(run("{{ len .L }} {{ len .S }}", {{"L", {1, 2, 3}}, {"S", "four"}}), "3 4");
  EXPECT_EQ(run("{{ index .L 1 }} {{ index .O \"k\" }}", {{"L", {1, 2, 3}}, {"O", {{"k", "v"}}}}),
            "2 v");
  EXPECT_EQ(run("{{ slice .S 1 3 }}", {{"S", "abcd"}}), "bc");
  EXPECT_EQ(run("{{ printf \"%s-%d-%.2f-%v-%q\" \"a\" 3 1.5 true \"q\" }}"), "a-3-1.50-true-\"q\"");
  EXPECT_EQ(run("{{ print \"a\" 1 2 \"b\" }}"), "a1 2b");
  EXPECT_EQ(run("{{ .X | printf \"<%s>\" }}", {{"X", "p"}}), "<p>");
  EXPECT_EQ(run("{{ lt 1 2 }} {{ ge 2 2 }} {{ gt \"b\" \"a\" }} {{ ne 1 1 }} {{ eq 1 2 1 }}"),
            "true true true false true");
  EXPECT_EQ(run("{{ json .O }}", {{"O", {{"b", "<x>"}, {"a", 1}}}}),
            "{\"b\":\"\\u003cx\\u003e\",\"a\":1}");
  EXPECT_EQ(run("{{ .O }}", {{"O", {{"k", 1}}}}), "{\"k\":1}");
  EXPECT_EQ(run("{{ .L }}", {{"L", {"string", "null"}}}), "[string null]");
  EXPECT_EQ(run("{{ html \"<a&b>\" }}"), "&lt;a&amp;b&gt;");
  EXPECT_EQ(run("{{ toTypeScriptType .P }}", {{"P", {{"Type", {"string", "integer"}}}}}),
            "string | number");
  // anyOf alternatives win over the type, joined the same way.
  EXPECT_EQ(run("{{ toTypeScriptType .P }}",
                {{"P",
                  {{"Type", "object"},
                   {"AnyOf", {{{"Type", "string"}}, {{"Type", {"array", "null"}}}}}}}}),
            "string | any[] | null");
  EXPECT_EQ(run("{{ currentDate }}").size(), 10u);
}

TEST(Template, DefineTemplateBlock) {
  EXPECT_EQ(run("{{ define \"x\" }}<{{ . }}>{{ end }}{{ template \"x\" .A }}", {{"A", 5}}), "<5>");
  EXPECT_EQ(run("{{ block \"b\" .A }}[{{ . }}]{{ end }}", {{"A", 1}}), "[1]");
}

TEST(Template, References) {
  auto t = Template::parse("{{ if .System }}{{ .System }}{{ end }}{{ .Prompt }}");
  EXPECT_TRUE(t.references("prompt"));
  EXPECT_TRUE(t.references("System"));
  EXPECT_FALSE(t.references("Messages"));
  EXPECT_FALSE(t.references("Response"));
  EXPECT_TRUE(Template::parse("{{ range $i, $m := .messages }}{{ end }}").references("Messages"));
  EXPECT_TRUE(Template::parse("{{ $response := 1 }}").references("Response"));
}

TEST(Template, TruncatedAtResponse) {
  auto t = Template::parse("<u>{{ .Prompt }}</u><a>{{ .Response }}</a>tail");
  EXPECT_EQ(t.truncated_at("Response").execute({{"Prompt", "p"}, {"Response", "r"}}),
            "<u>p</u><a>r");
  auto t2 = Template::parse(
      "{{ if .System }}S{{ end }}{{ if .Prompt }}P{{ .Response }}x{{ else }}E{{ end }}y");
  EXPECT_EQ(t2.truncated_at("Response").execute({{"System", 1}, {"Prompt", 1}, {"Response", ""}}),
            "SP");
}

TEST(Template, Errors) {
  EXPECT_THROW(Template::parse("{{ if .A }}x"), TemplateError);
  EXPECT_THROW(Template::parse("{{ .A "), TemplateError);
  EXPECT_THROW(Template::parse("{{ end }}"), TemplateError);
  EXPECT_THROW(Template::parse("{{ \"unterminated }}"), TemplateError);
  EXPECT_THROW(Template::parse("{{ nosuchfunc 1 }}"), TemplateError);
  EXPECT_THROW(run("{{ index .L 5 }}", {{"L", {1}}}), TemplateError);
  try {
    Template::parse("line1\n{{ if }}");
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
}

// --- bounds: a template is user input (the `template` field, a Modelfile) -------------------

namespace {

std::string exec_error(const std::string& text, const prompt::Json& data = prompt::Json::object()) {
  try {
    prompt::Template::parse(text).execute(data);
  } catch (const prompt::TemplateError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TemplateBounds, RecursiveTemplateStopsAtTheDepthLimit) {
  EXPECT_NE(exec_error(R"({{define "x"}}{{template "x" .}}{{end}}{{template "x" .}})")
                .find("exceeded maximum template depth"),
            std::string::npos);
  // Mutual recursion, with output on the way down.
  EXPECT_NE(
      exec_error(
          R"({{define "a"}}a{{template "b" .}}{{end}}{{define "b"}}b{{template "a" .}}{{end}}{{template "a" .}})")
          .find("exceeded maximum template depth"),
      std::string::npos);
  // Bounded recursion below the limit still works.
  auto t = prompt::Template::parse(
      R"({{define "n"}}{{if .}}x{{template "n" (slice . 1)}}{{end}}{{end}}{{template "n" .L}})");
  EXPECT_EQ(t.execute({{"L", "abcd"}}), "xxxx");
}

TEST(TemplateBounds, DeepNestingIsAParseError) {
  std::string deep;
  for (int i = 0; i < 20000; i++) deep += "{{if 1}}";
  deep += "x";
  for (int i = 0; i < 20000; i++) deep += "{{end}}";
  try {
    prompt::Template::parse(deep);
    FAIL() << "parsed 20000 nested ifs";
  } catch (const prompt::TemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("nesting deeper than"), std::string::npos) << e.what();
    EXPECT_EQ(api::http_status(e.kind()), 400);
  }
  std::string parens = "{{" + std::string(5000, '(') + "1" + std::string(5000, ')') + "}}";
  EXPECT_THROW(prompt::Template::parse(parens), prompt::TemplateError);
  std::string chain = "{{if 0}}";
  for (int i = 0; i < 5000; i++) chain += "{{else if 0}}";
  chain += "{{end}}";
  EXPECT_THROW(prompt::Template::parse(chain), prompt::TemplateError);
  // 100 levels are fine.
  std::string ok;
  for (int i = 0; i < 100; i++) ok += "{{if 1}}";
  ok += "y";
  for (int i = 0; i < 100; i++) ok += "{{end}}";
  EXPECT_EQ(prompt::Template::parse(ok).execute(prompt::Json::object()), "y");
}

TEST(TemplateBounds, ExponentialOutputIsRefused) {
  // Each level doubles the output: 2^40 bytes if unbounded.
  std::string t = "{{define \"l0\"}}" + std::string(1024, 'x') + "{{end}}";
  for (int i = 1; i <= 40; i++)
    t += "{{define \"l" + std::to_string(i) + "\"}}{{template \"l" + std::to_string(i - 1) +
         "\"}}{{template \"l" + std::to_string(i - 1) + "\"}}{{end}}";
  t += "{{template \"l40\"}}";
  EXPECT_NE(exec_error(t).find("output exceeds"), std::string::npos);
}

TEST(TemplateBounds, UnboundedWorkIsRefused) {
  // No output at all, but 10^15 iterations.
  EXPECT_NE(exec_error("{{range 100000}}{{range 100000}}{{range 100000}}{{end}}{{end}}{{end}}")
                .find("steps"),
            std::string::npos);
}

TEST(TemplateBounds, PrintfWidthIsBoundedLikeGo) {
  auto t = prompt::Template::parse(R"({{printf "%5d|%-4s|%.2f" 42 "ab" 3.14159}})");
  EXPECT_EQ(t.execute(prompt::Json::object()), "   42|ab  |3.14");
  EXPECT_EQ(
      prompt::Template::parse(R"({{printf "%999999999d" 1}})").execute(prompt::Json::object()),
      "%!(BADWIDTH)");
  // Wide but allowed: the whole width, not a truncated buffer.
  EXPECT_EQ(
      prompt::Template::parse(R"({{printf "%1000d" 1}})").execute(prompt::Json::object()).size(),
      1000u);
  // Wrong-typed arguments are template errors (400), not library exceptions.
  EXPECT_THROW(prompt::Template::parse(R"({{printf "%x" .}})").execute({{"a", 1}}),
               prompt::TemplateError);
  EXPECT_EQ(prompt::Template::parse(R"({{printf "%d" 1e300}})").execute(prompt::Json::object()),
            "9223372036854775807");
}

TEST(TemplateSlices, WindowsBehaveLikeCopiedSlices) {
  prompt::Json d = {{"L", {"a", "b", "c", "d"}}, {"S", "hello"}};
  auto run = [&](const std::string& t) { return prompt::Template::parse(t).execute(d); };
  EXPECT_EQ(run("{{len (slice .L 1)}}"), "3");
  EXPECT_EQ(run("{{slice .L 1 3}}"), "[b c]");
  EXPECT_EQ(run("{{index (slice .L 1) 0}}"), "b");
  EXPECT_EQ(run("{{len (slice (slice .L 1) 1 2)}}|{{index (slice (slice .L 1) 1) 1}}"), "1|d");
  EXPECT_EQ(run("{{range $i, $v := slice .L 2}}{{$i}}={{$v}};{{end}}"), "0=c;1=d;");
  EXPECT_EQ(run("{{if slice .L 4}}y{{else}}n{{end}}{{if slice .L 3}}y{{end}}"), "ny");
  EXPECT_EQ(run("{{json (slice .L 3)}}"), "[\"d\"]");
  EXPECT_EQ(run("{{eq (len (slice .L 3)) 1}}"), "true");
  EXPECT_EQ(run("{{slice .S 1 3}}"), "el");
  // A window assigned to an outer variable outlives the range that made it.
  EXPECT_EQ(run("{{$w := 0}}{{range $i, $_ := .L}}{{$w = slice $.L $i}}{{end}}{{$w}}"), "[d]");
  EXPECT_THROW(run("{{slice .L 3 9}}"), prompt::TemplateError);
  EXPECT_THROW(run("{{index (slice .L 2) 2}}"), prompt::TemplateError);
}

TEST(TemplateSlices, LongChatsRenderInLinearTime) {
  // The built-in templates test `eq (len (slice $.Messages $i)) 1` per message: with a copy
  // per call, 3000 messages took 13 s; 20000 must take well under a second or two.
  const prompt::BuiltinTemplate* b = nullptr;
  for (const auto& t : prompt::builtin_templates())
    if (t.text.find("slice $.Messages $i") != std::string::npos) b = &t;
  ASSERT_NE(b, nullptr);
  auto tmpl = prompt::load_template(b->text);
  std::vector<prompt::Message> msgs;
  for (int i = 0; i < 20000; i++)
    msgs.push_back({.role = i % 2 ? "assistant" : "user", .content = std::string(100, 'x')});
  auto t0 = std::chrono::steady_clock::now();
  std::string out = prompt::render(tmpl, msgs, nullptr, prompt::Think{});
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(out.size(), 20000u * 100);
  EXPECT_LT(s, 3.0);
}

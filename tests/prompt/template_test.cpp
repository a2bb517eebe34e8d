#include "prompt/template.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(run("{{ if and .A .B }}y{{ end }}{{ if or .A .B }}o{{ end }}", {{"A", 1}, {"B", 0}}), "o");
  EXPECT_EQ(run("{{ if not .A }}n{{ end }}", {{"A", false}}), "n");
  EXPECT_EQ(run("{{ and 1 0 2 }} {{ or 0 \"\" \"z\" }}"), "0 z");
}

TEST(Template, RangeWithIndexAndElse) {
  Json d = {{"M", {{{"Role", "user"}, {"Content", "hi"}}, {{"Role", "assistant"}, {"Content", "yo"}}}}};
  EXPECT_EQ(run("{{ range $i, $m := .M }}{{ $i }}:{{ $m.Role }}={{ .Content }};{{ end }}", d),
            "0:user=hi;1:assistant=yo;");
  EXPECT_EQ(run("{{ range .E }}x{{ else }}empty{{ end }}", {{"E", Json::array()}}), "empty");
  EXPECT_EQ(run("{{ range $k, $v := .O }}{{ $k }}={{ $v }},{{ end }}", {{"O", {{"b", 2}, {"a", 1}}}}),
            "a=1,b=2,");
  EXPECT_EQ(run("{{ range $i, $m := .M }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $m.Role }}{{ end }}", d), "user");
  EXPECT_EQ(run("{{ range .M }}{{ if eq .Role \"user\" }}{{ continue }}{{ end }}{{ .Content }}{{ end }}", d), "yo");
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
  EXPECT_EQ(run("{{ index .L 1 }} {{ index .O \"k\" }}", {{"L", {1, 2, 3}}, {"O", {{"k", "v"}}}}), "2 v");
  EXPECT_EQ(run("{{ slice .S 1 3 }}", {{"S", "abcd"}}), "bc");
  EXPECT_EQ(run("{{ printf \"%s-%d-%.2f-%v-%q\" \"a\" 3 1.5 true \"q\" }}"), "a-3-1.50-true-\"q\"");
  EXPECT_EQ(run("{{ print \"a\" 1 2 \"b\" }}"), "a1 2b");
  EXPECT_EQ(run("{{ .X | printf \"<%s>\" }}", {{"X", "p"}}), "<p>");
  EXPECT_EQ(run("{{ lt 1 2 }} {{ ge 2 2 }} {{ gt \"b\" \"a\" }} {{ ne 1 1 }} {{ eq 1 2 1 }}"),
            "true true true false true");
  EXPECT_EQ(run("{{ json .O }}", {{"O", {{"b", "<x>"}, {"a", 1}}}}), "{\"b\":\"\\u003cx\\u003e\",\"a\":1}");
  EXPECT_EQ(run("{{ .O }}", {{"O", {{"k", 1}}}}), "{\"k\":1}");
  EXPECT_EQ(run("{{ .L }}", {{"L", {"string", "null"}}}), "[string null]");
  EXPECT_EQ(run("{{ html \"<a&b>\" }}"), "&lt;a&amp;b&gt;");
  EXPECT_EQ(run("{{ toTypeScriptType .P }}", {{"P", {{"Type", {"string", "integer"}}}}}), "string | number");
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
  EXPECT_EQ(t.truncated_at("Response").execute({{"Prompt", "p"}, {"Response", "r"}}), "<u>p</u><a>r");
  auto t2 = Template::parse(
      "{{ if .System }}S{{ end }}{{ if .Prompt }}P{{ .Response }}x{{ else }}E{{ end }}y");
  EXPECT_EQ(t2.truncated_at("Response").execute({{"System", 1}, {"Prompt", 1}, {"Response", ""}}), "SP");
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

#include "prompt/chat.h"

#include <gtest/gtest.h>

#include "prompt/builtin.h"

using namespace prompt;

namespace {
Message msg(std::string role, std::string content) {
  Message m;
  m.role = std::move(role);
  m.content = std::move(content);
  return m;
}
std::string render_builtin(const char* name, const std::vector<Message>& msgs,
                           const Json& tools = nullptr) {
  return render(load_template(builtin_by_name(name)->text), msgs, tools, Think{});
}
const Json kTools = Json::parse(R"([{"type":"function","function":{"name":"get_weather",
  "description":"Get weather","parameters":{"type":"object","required":["city"],
  "properties":{"city":{"type":"string","description":"City name"}}}}}])");
Message tool_call_msg() {
  Message m = msg("assistant", "");
  ToolCall c;
  c.name = "get_weather";
  c.arguments = Json::parse(R"({"city":"Oslo"})");
  m.tool_calls.push_back(c);
  return m;
}
}  // namespace

TEST(Builtin, Llama3Shapes) {
  EXPECT_EQ(render_builtin("llama3-instruct", {msg("system", "S"), msg("user", "hi")}),
            "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_builtin("llama3-instruct",
                           {msg("user", "a"), msg("assistant", "b"), msg("user", "c")}),
            "<|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nb<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nc<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // An assistant message last is a prefill: no end-of-turn, generation continues it.
  EXPECT_EQ(render_builtin("llama3-instruct", {msg("user", "a"), msg("assistant", "b")}),
            "<|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nb");
  std::string with_tools = render_builtin(
      "llama3-instruct", {msg("user", "w?"), tool_call_msg(), msg("tool", "sunny")}, kTools);
  EXPECT_NE(with_tools.find("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\""),
            std::string::npos)
      << with_tools;
  EXPECT_NE(
      with_tools.find("{\"name\": \"get_weather\", \"parameters\": {\"city\":\"Oslo\"}}<|eot_id|>"),
      std::string::npos)
      << with_tools;
  EXPECT_NE(with_tools.find("<|start_header_id|>ipython<|end_header_id|>\n\nsunny<|eot_id|><|start_"
                            "header_id|>assistant<|end_header_id|>\n\n"),
            std::string::npos)
      << with_tools;
}

TEST(Builtin, ChatmlShapes) {
  EXPECT_EQ(
      render_builtin("chatml", {msg("system", "S"), msg("user", "hi")}),
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_builtin("chatml", {msg("user", "a"), msg("assistant", "b"), msg("user", "c")}),
            "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n"
            "<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n");
  std::string t =
      render_builtin("chatml", {msg("user", "w?"), tool_call_msg(), msg("tool", "sunny")}, kTools);
  EXPECT_NE(t.find("<tools>\n{\"type\":\"function\""), std::string::npos) << t;
  EXPECT_NE(t.find("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                   "{\"city\":\"Oslo\"}}\n</tool_call><|im_end|>\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("<|im_start|>user\n<tool_response>\nsunny\n</"
                   "tool_response><|im_end|>\n<|im_start|>assistant\n"),
            std::string::npos)
      << t;
}

TEST(Builtin, GemmaPhi3Mistral) {
  EXPECT_EQ(render_builtin("gemma-instruct", {msg("system", "S"), msg("user", "hi")}),
            "<start_of_turn>user\nS\n\nhi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(
      render_builtin("gemma-instruct", {msg("user", "a"), msg("assistant", "b"), msg("user", "c")}),
      "<start_of_turn>user\na<end_of_turn>\n<start_of_turn>model\nb<end_of_turn>\n"
      "<start_of_turn>user\nc<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(render_builtin("phi-3", {msg("system", "S"), msg("user", "hi")}),
            "<|system|>\nS<|end|>\n<|user|>\nhi<|end|>\n<|assistant|>\n");
  EXPECT_EQ(render_builtin("mistral-instruct", {msg("system", "S"), msg("user", "a"),
                                                msg("assistant", "b"), msg("user", "c")}),
            "[INST] a[/INST] b</s>[INST] S\n\nc[/INST]");
}

TEST(Builtin, DetectFromJinja) {
  EXPECT_EQ(detect_builtin("{% for m in messages %}<|start_header_id|>{{ m.role "
                           "}}<|end_header_id|>{{ m.content }}<|eot_id|>{% endfor %}")
                ->name,
            "llama3-instruct");
  EXPECT_EQ(detect_builtin("{{'<|im_start|>' + message['role']}}")->name, "chatml");
  EXPECT_EQ(detect_builtin("<start_of_turn>user")->name, "gemma-instruct");
  EXPECT_EQ(detect_builtin("{{'<|user|>' + content + '<|end|>'}}")->name, "phi-3");
  EXPECT_EQ(detect_builtin("{{ '[INST] ' + content + ' [/INST]' }}")->name, "mistral-instruct");
  EXPECT_EQ(detect_builtin("plain"), nullptr);
  EXPECT_EQ(detect_builtin(""), nullptr);
}

TEST(Chat, CollatesSameRoleAndJoinsSystem) {
  auto t = load_template("{{ .System }}|{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}");
  EXPECT_EQ(render(t,
                   {msg("system", "s1"), msg("system", "s2"), msg("user", "a"), msg("user", "b"),
                    msg("tool", "t1"), msg("tool", "t2")},
                   nullptr, Think{}),
            "s1\n\ns2|system:s1\n\ns2;user:a\n\nb;tool:t1;tool:t2;");
}

TEST(Chat, LegacyTemplateTurnByTurn) {
  // No .Messages: executed per turn, last turn cut after .Response; system only on first turn.
  auto t = load_template(
      "{{ if .System }}<s>{{ .System }}</s>{{ end }}[U]{{ .Prompt }}[A]{{ .Response }}[E]");
  EXPECT_EQ(
      render(t, {msg("system", "S"), msg("user", "q1"), msg("assistant", "r1"), msg("user", "q2")},
             nullptr, Think{}),
      "<s>S</s>[U]q1[A]r1[E][U]q2[A]");
  // A template with neither .Messages nor .Response gets {{ .Response }} appended.
  auto plain = load_template("{{ .Prompt }}");
  EXPECT_EQ(render(plain, {msg("user", "hello")}, nullptr, Think{}), "hello");
}

TEST(Chat, ThinkVariables) {
  auto t = load_template(
      "{{ .Think }} {{ .ThinkLevel }} {{ .IsThinkSet }}{{ range .Messages }}{{ end }}");
  Think th;
  th.set = true;
  th.enabled = true;
  th.level = "high";
  EXPECT_EQ(render(t, {msg("user", "x")}, nullptr, th), "true high true");
  EXPECT_EQ(render(t, {msg("user", "x")}, nullptr, Think{}), "false  false");
}

TEST(Chat, TruncationKeepsSystemAndLatest) {
  auto t = load_template("{{ range .Messages }}{{ .Content }} {{ end }}");
  std::vector<Message> msgs = {msg("system", "SYS"), msg("user", "one two three"),
                               msg("assistant", "four five"), msg("user", "six")};
  auto words = [](const std::string& s) {
    int n = 0;
    bool in = false;
    for (char c : s) {
      if (c != ' ' && !in) n++;
      in = c != ' ';
    }
    return n;
  };
  EXPECT_EQ(render_truncated(t, msgs, nullptr, Think{}, 100, true, words),
            "SYS one two three four five six ");
  EXPECT_EQ(render_truncated(t, msgs, nullptr, Think{}, 4, true, words), "SYS four five six ");
  EXPECT_EQ(render_truncated(t, msgs, nullptr, Think{}, 2, true, words), "SYS six ");
  EXPECT_EQ(render_truncated(t, msgs, nullptr, Think{}, 2, false, words),
            "SYS one two three four five six ");
}

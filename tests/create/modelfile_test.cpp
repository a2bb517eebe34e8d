// Modelfile parsing and serialization against Ollama's parser behaviour and error texts.
#include "create/modelfile.h"

#include <gtest/gtest.h>

#include "api/options.h"
#include "api/status.h"
#include "create/parameters.h"
#include "util/error.h"

using create::Modelfile;
using create::ModelfileCommand;
using create::parse_modelfile;

namespace {

std::string parse_error(std::string_view text) {
  try {
    parse_modelfile(text);
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    return e.what();
  }
  return "<no error>";
}

std::string parts_error(std::string_view text) {
  try {
    create::modelfile_request_parts(parse_modelfile(text));
  } catch (const util::Error& e) {
    EXPECT_EQ(api::http_status(e.kind()), 400);
    return e.what();
  }
  return "<no error>";
}

const char kInvalidCommand[] =
    "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", "
    "\"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"";

}  // namespace

TEST(Modelfile, ParsesAllInstructions) {
  auto mf = parse_modelfile(
      "FROM model1\n"
      "ADAPTER adapter1\n"
      "LICENSE MIT\n"
      "PARAMETER param1 value1\n"
      "PARAMETER param2 value2\n"
      "TEMPLATE \"\"\"{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n"
      "{{ .System }}<|eot_id|>{{ end }}\"\"\"\n"
      "SYSTEM You are a helpful assistant.\n"
      "MESSAGE user Hello\n"
      "MESSAGE assistant Hi there!\n"
      "DRAFT ./draft\n"
      "RENDERER qwen3\n"
      "PARSER qwen3\n"
      "REQUIRES 0.14.0\n");
  std::vector<ModelfileCommand> want = {
      {"model", "model1"},
      {"adapter", "adapter1"},
      {"license", "MIT"},
      {"param1", "value1"},
      {"param2", "value2"},
      {"template",
       "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
       "{{ end }}"},
      {"system", "You are a helpful assistant."},
      {"message", "user: Hello"},
      {"message", "assistant: Hi there!"},
      {"draft", "./draft"},
      {"renderer", "qwen3"},
      {"parser", "qwen3"},
      {"requires", "0.14.0"},
  };
  EXPECT_EQ(mf.commands, want);
}

TEST(Modelfile, CaseCommentsAndSpacing) {
  auto mf = parse_modelfile(
      "# leading comment\n"
      "  from   llama3.2   \n"
      "\tSyStEm value # with a hash\n"
      "   # indented comment\n"
      "parameter\ttemperature\t0.7\n"
      "PARAMETER Top_K 40\n");
  std::vector<ModelfileCommand> want = {{"model", "llama3.2"},
                                        {"system", "value # with a hash"},
                                        {"temperature", "0.7"},
                                        {"Top_K", "40"}};
  EXPECT_EQ(mf.commands, want);
}

TEST(Modelfile, QuotesAndMultiline) {
  auto mf = parse_modelfile(
      "FROM foo\n"
      "SYSTEM \"\"\"  keeps  spaces  \"\"\"\n"
      "TEMPLATE \"line one\nline \"two\" here\"\n"
      "LICENSE \"\"\"\"\"\"\n"
      "MESSAGE user \"\"\"multi\nline\"\"\"\n"
      "PARAMETER stop \"<|im_end|>\"\n");
  ASSERT_EQ(mf.commands.size(), 6u);
  EXPECT_EQ(mf.commands[1].args, "  keeps  spaces  ");
  EXPECT_EQ(mf.commands[2].args, "line one\nline \"two\" here");
  EXPECT_EQ(mf.commands[3].args, "");
  EXPECT_EQ(mf.commands[4].args, "user: multi\nline");
  EXPECT_EQ(mf.commands[5].args, "<|im_end|>");
}

TEST(Modelfile, EncodingsAndLineEnds) {
  std::vector<ModelfileCommand> want = {{"model", "foo"}, {"system", "hi"}};
  EXPECT_EQ(parse_modelfile("\xEF\xBB\xBF"
                            "FROM foo\nSYSTEM hi\n")
                .commands,
            want);
  EXPECT_EQ(parse_modelfile("FROM foo\r\nSYSTEM hi\r\n").commands, want);
  EXPECT_EQ(parse_modelfile("FROM foo\rSYSTEM hi").commands, want);
  std::string u16le("\xFF\xFE", 2);
  for (char c : std::string("FROM foo\nSYSTEM hi\n")) u16le += std::string{c, '\0'};
  EXPECT_EQ(parse_modelfile(u16le).commands, want);
  std::string u16be("\xFE\xFF", 2);
  for (char c : std::string("FROM foo\nSYSTEM hi")) u16be += std::string{'\0', c};
  EXPECT_EQ(parse_modelfile(u16be).commands, want);
  // Non-ASCII text passes through; non-printable control characters are dropped.
  EXPECT_EQ(parse_modelfile("FROM foo\nSYSTEM caf\xC3\xA9 \xF0\x9F\xA6\x99\x01!").commands[1].args,
            "caf\xC3\xA9 \xF0\x9F\xA6\x99!");
}

TEST(Modelfile, Errors) {
  EXPECT_EQ(parse_error("\nFROM foo\nADAPTER adapter3\nLICENSE \"MIT       \"\n"
                        "PARAMETER param1 value1\nINVALID instruction\n"),
            std::string("(line 6): ") + kInvalidCommand);
  // An instruction word directly followed by a newline (the newline is already counted).
  EXPECT_EQ(parse_error("FROM foo\nSYSTEM\n"), std::string("(line 3): ") + kInvalidCommand);
  EXPECT_EQ(parse_error("FROM foo\nFROM:x\n"), std::string("(line 2): ") + kInvalidCommand);
  EXPECT_EQ(parse_error("FROM foo\nMESSAGE badguy I'm a bad guy!\n"),
            "(line 2): message role must be one of \"system\", \"user\", or \"assistant\"");
  EXPECT_EQ(parse_error("FROM foo\nMESSAGE User hi\n"),
            "(line 2): message role must be one of \"system\", \"user\", or \"assistant\"");
  EXPECT_EQ(parse_error("FROM foo\nTEMPLATE \"\"\"{{ .Prompt }}"), "unexpected EOF");
  EXPECT_EQ(parse_error("FROM foo\nSYSTEM \"unterminated\n"), "unexpected EOF");
  EXPECT_EQ(parse_error("FROM foo\nPARAMETER"), "unexpected EOF");
  EXPECT_EQ(parse_error("FROM"), "unexpected EOF");
  EXPECT_EQ(parse_error("FROM foo\nPARAMETER temp-x 1\n"), "unexpected EOF: temp");
  EXPECT_EQ(parse_error("FROM foo\nMESSAGE us3r hi\n"), "unexpected EOF: us");
  EXPECT_EQ(parse_error("SYSTEM hi\n"), "no FROM line");
  EXPECT_EQ(parse_error(""), "no FROM line");
  EXPECT_EQ(parse_error("# only a comment"), "no FROM line");
}

TEST(Modelfile, SerializesWithOllamaQuoting) {
  EXPECT_EQ(create::quote_modelfile_value("<|im_end|>"), "<|im_end|>");
  EXPECT_EQ(create::quote_modelfile_value("two words"), "two words");
  EXPECT_EQ(create::quote_modelfile_value(" lead"), "\" lead\"");
  EXPECT_EQ(create::quote_modelfile_value("trail "), "\"trail \"");
  EXPECT_EQ(create::quote_modelfile_value("a\nb"), "\"a\nb\"");
  EXPECT_EQ(create::quote_modelfile_value("say \"x\"\nok"), "\"\"\"say \"x\"\nok\"\"\"");
  EXPECT_EQ(create::quote_modelfile_value("say \"x\""), "say \"x\"");

  Modelfile mf;
  mf.commands = {{"model", "/root/.ollama/models/blobs/sha256-abc"},
                 {"template", "{{ .System }}\n{{ .Prompt }}"},
                 {"system", "You are \"helpful\".\nBe brief."},
                 {"stop", "<|im_end|>"},
                 {"temperature", "0.7"},
                 {"license", "MIT"},
                 {"message", "user: hello there"},
                 {"adapter", "/a b"},
                 {"requires", "0.14.0"}};
  std::string text = mf.to_string();
  EXPECT_EQ(text,
            "FROM /root/.ollama/models/blobs/sha256-abc\n"
            "TEMPLATE \"{{ .System }}\n{{ .Prompt }}\"\n"
            "SYSTEM \"\"\"You are \"helpful\".\nBe brief.\"\"\"\n"
            "PARAMETER stop <|im_end|>\n"
            "PARAMETER temperature 0.7\n"
            "LICENSE MIT\n"
            "MESSAGE user hello there\n"
            "ADAPTER /a b\n"
            "REQUIRES 0.14.0\n");
  EXPECT_EQ(parse_modelfile(text).commands, mf.commands);
}

TEST(Modelfile, RequestPartsTypedParameters) {
  auto parts = create::modelfile_request_parts(parse_modelfile(
      "FROM llama3.2\nFROM ./mmproj.gguf\nADAPTER ./lora.gguf\n"
      "PARAMETER temperature 0.7\nPARAMETER num_ctx 4096\nPARAMETER use_mmap false\n"
      "PARAMETER stop <|im_end|>\nPARAMETER stop \"<|im_start|>\"\nPARAMETER seed -1\n"
      "PARAMETER mirostat 2\nPARAMETER top_p 1\n"
      "MESSAGE system be nice\nMESSAGE user hi\nLICENSE one\nLICENSE two\n"
      "REQUIRES v0.14.1\nTEMPLATE {{ .Prompt }}\nSYSTEM sys\n"));
  EXPECT_EQ(parts.model_args, (std::vector<std::string>{"llama3.2", "./mmproj.gguf"}));
  EXPECT_EQ(parts.adapter_args, (std::vector<std::string>{"./lora.gguf"}));
  EXPECT_EQ(parts.parameters.dump(),
            "{\"num_ctx\":4096,\"seed\":-1,\"stop\":[\"<|im_end|>\",\"<|im_start|>\"],"
            "\"temperature\":0.7,\"top_p\":1.0,\"use_mmap\":false}");
  EXPECT_TRUE(parts.parameters["num_ctx"].is_number_integer());
  EXPECT_EQ(parts.warnings,
            (std::vector<std::string>{"warning: parameter mirostat is deprecated"}));
  EXPECT_EQ(
      parts.messages.dump(),
      "[{\"content\":\"be nice\",\"role\":\"system\"},{\"content\":\"hi\",\"role\":\"user\"}]");
  EXPECT_EQ(parts.licenses, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(parts.requires_version, "0.14.1");
  EXPECT_EQ(parts.template_text, "{{ .Prompt }}");
  EXPECT_EQ(parts.system, "sys");
}

TEST(Modelfile, RequestPartsErrors) {
  EXPECT_EQ(parts_error("FROM x\nPARAMETER foo 1\n"), "unknown parameter 'foo'");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER tfs_z 1\n"), "unknown parameter 'tfs_z'");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER TEMPERATURE 1\n"), "unknown parameter 'TEMPERATURE'");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER num_ctx abc\n"), "invalid int value [abc]");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER num_ctx 1.5\n"), "invalid int value [1.5]");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER top_k 1 2\n"), "invalid int value [1 2]");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER temperature hot\n"), "invalid float value [hot]");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER temperature 1e39\n"), "invalid float value [1e39]");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER use_mmap yes\n"), "invalid bool value [yes]");
  EXPECT_EQ(parts_error("FROM x\nREQUIRES latest\n"),
            "requires must be a valid semver (e.g. 0.14.0)");
  EXPECT_EQ(parts_error("FROM x\nPARAMETER use_mmap TRUE\nPARAMETER num_gpu +3\n"), "<no error>");
}

TEST(Modelfile, Semver) {
  for (const char* ok : {"0.14.0", "v0.14.0", "1", "v1.2", "1.2.3-rc.1", "1.2.3+build.5",
                         "1.2.3-alpha-1+b", "10.20.30"})
    EXPECT_TRUE(create::is_valid_semver(ok)) << ok;
  for (const char* bad : {"", "v", "latest", "1.2.3.4", "01.2.3", "1.2-rc1", "1.2.3-", "1.2.3-01",
                          "1.2.3+", "1..2", "1.2.3-a..b"})
    EXPECT_FALSE(create::is_valid_semver(bad)) << bad;
}

TEST(Parameters, Table) {
  EXPECT_EQ(api::option_type("num_ctx"), api::OptionType::kInt);
  EXPECT_EQ(api::option_type("temperature"), api::OptionType::kFloat);
  EXPECT_EQ(api::option_type("use_mmap"), api::OptionType::kBool);
  EXPECT_EQ(api::option_type("stop"), api::OptionType::kStringList);
  EXPECT_FALSE(api::option_type("mirostat").has_value());
  EXPECT_TRUE(api::is_deprecated_option("use_mlock"));
  EXPECT_FALSE(api::is_deprecated_option("num_ctx"));
  EXPECT_EQ(api::option_table().size(), 20u);
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    EXPECT_EQ(create::parse_go_bool(t), true) << t;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    EXPECT_EQ(create::parse_go_bool(f), false) << f;
  EXPECT_FALSE(create::parse_go_bool("tRUE").has_value());
}

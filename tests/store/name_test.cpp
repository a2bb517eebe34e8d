// Model name grammar (§8.1): parsing, defaults, validity, display forms.
#include "store/name.h"

#include <gtest/gtest.h>

using store::ModelName;

TEST(ModelName, DefaultsFilled) {
  auto n = ModelName::parse("llama3.2");
  EXPECT_EQ(n.host, "registry.ollama.ai");
  EXPECT_EQ(n.name_space, "library");
  EXPECT_EQ(n.model, "llama3.2");
  EXPECT_EQ(n.tag, "latest");
  EXPECT_TRUE(n.is_valid());
  EXPECT_EQ(n.display_shortest(), "llama3.2:latest");
  EXPECT_EQ(n.display_long(), "registry.ollama.ai/library/llama3.2:latest");
  EXPECT_EQ(n.filepath(), "registry.ollama.ai/library/llama3.2/latest");
}

TEST(ModelName, NamespaceAndTag) {
  auto n = ModelName::parse("mattw/pygmalion:q4");
  EXPECT_EQ(n.host, "registry.ollama.ai");
  EXPECT_EQ(n.name_space, "mattw");
  EXPECT_EQ(n.model, "pygmalion");
  EXPECT_EQ(n.tag, "q4");
  EXPECT_EQ(n.display_shortest(), "mattw/pygmalion:q4");
}

TEST(ModelName, HostsPortsSchemes) {
  auto hf = ModelName::parse("hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M");
  EXPECT_TRUE(hf.is_valid());
  EXPECT_EQ(hf.host, "hf.co");
  EXPECT_EQ(hf.name_space, "bartowski");
  EXPECT_EQ(hf.model, "Qwen2.5-7B-Instruct-GGUF");
  EXPECT_EQ(hf.tag, "Q4_K_M");
  EXPECT_EQ(hf.display_shortest(), "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M");

  auto local = ModelName::parse("localhost:5000/ns/m:t");
  EXPECT_TRUE(local.is_valid());
  EXPECT_EQ(local.host, "localhost:5000");
  EXPECT_EQ(local.scheme, "");
  EXPECT_EQ(local.effective_scheme(), "https");

  auto http = ModelName::parse("http://myreg:5000/ns/m:t");
  EXPECT_TRUE(http.is_valid());
  EXPECT_EQ(http.scheme, "http");
  EXPECT_EQ(http.host, "myreg:5000");
  EXPECT_EQ(http.display_long(), "myreg:5000/ns/m:t");

  // A colon before the last slash is a port, not a tag.
  auto port_only = ModelName::parse("localhost:5000/ns/m");
  EXPECT_EQ(port_only.tag, "latest");
  EXPECT_EQ(port_only.host, "localhost:5000");
}

TEST(ModelName, Invalid) {
  const char* bad[] = {
      "",              // empty model
      "a//b",          // empty namespace -> !MISSING!
      "model:",        // empty tag
      ":tag",          // empty model
      "/model",        // empty namespace
      "myreg:5000/m",  // custom host without namespace: "myreg:5000" is the namespace
      "m@sha256:abc",  // digest references are not supported
      "ns.x/m",        // '.' not allowed in a namespace
      "-abc",          // first character must be [A-Za-z0-9_]
      ".abc",
      "a/b/c/d",  // host "a/b"
      "mo del",
      "model:ta/g",  // ':' before the last '/': "ta" ... host-less namespace "model:ta"
      "ns/m:t:u",    // ':' in the model
      "ünicode",
  };
  for (const char* s : bad) {
    EXPECT_FALSE(ModelName::parse(s).is_valid()) << s;
  }
  EXPECT_EQ(ModelName::parse("a//b").name_space, "!MISSING!");
  EXPECT_EQ(ModelName::parse("model:").tag, "!MISSING!");
}

TEST(ModelName, ValidCharsAndLengths) {
  EXPECT_TRUE(ModelName::parse("_a.b-c_d:e.f-g_h").is_valid());
  EXPECT_TRUE(ModelName::parse("ns-1_x/m:t").is_valid());
  EXPECT_TRUE(ModelName::parse(std::string(80, 'm')).is_valid());
  EXPECT_FALSE(ModelName::parse(std::string(81, 'm')).is_valid());
  EXPECT_TRUE(ModelName::parse("m:" + std::string(80, 't')).is_valid());
  EXPECT_FALSE(ModelName::parse("m:" + std::string(81, 't')).is_valid());
  EXPECT_TRUE(ModelName::parse(std::string(80, 'n') + "/m").is_valid());
  EXPECT_FALSE(ModelName::parse(std::string(81, 'n') + "/m").is_valid());
  EXPECT_TRUE(ModelName::parse(std::string(350, 'h') + "/n/m").is_valid());
  EXPECT_FALSE(ModelName::parse(std::string(351, 'h') + "/n/m").is_valid());
}

TEST(ModelName, DisplayIsCaseInsensitiveAboutDefaults) {
  auto n = ModelName::parse("REGISTRY.OLLAMA.AI/Library/Llama3:Latest");
  EXPECT_TRUE(n.is_valid());
  EXPECT_EQ(n.display_shortest(), "Llama3:Latest");
  EXPECT_TRUE(n.equal_fold(ModelName::parse("llama3")));
  EXPECT_FALSE(n.equal_fold(ModelName::parse("llama3:8b")));
  EXPECT_EQ(ModelName::parse("other.io/library/m").display_shortest(), "other.io/library/m:latest");
}

TEST(ModelName, FromFilepath) {
  auto n = ModelName::from_filepath("registry.ollama.ai/library/llama3.2/latest");
  EXPECT_TRUE(n.is_valid());
  EXPECT_EQ(n.display_shortest(), "llama3.2:latest");
  EXPECT_FALSE(ModelName::from_filepath("library/llama3.2/latest").is_valid());
  EXPECT_FALSE(ModelName::from_filepath("a/b/c/d/e").is_valid());
  EXPECT_TRUE(ModelName::from_filepath("h\\n\\m\\t").is_valid());
}

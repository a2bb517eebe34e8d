#include <gtest/gtest.h>

#include "cli/commands.h"

namespace cli {
namespace {

using nlohmann::json;

TEST(ShowInfo, BareDetails) {
  json r = json::parse(R"({"details":{"family":"test","parameter_size":"7B",
                           "quantization_level":"FP16"}})");
  EXPECT_EQ(format_show_info(r, false),
            "  Model\n"
            "    architecture    test    \n"
            "    parameters      7B      \n"
            "    quantization    FP16    \n"
            "\n");
}

TEST(ShowInfo, ParametersSplitIntoFields) {
  json r = json::parse(R"({"details":{"family":"test","parameter_size":"7B",
                           "quantization_level":"FP16"}})");
  r["parameters"] =
      "stop                           \"never\"\nstop                           "
      "\"up\"\ntemperature                    99";
  EXPECT_EQ(format_show_info(r, false),
            "  Model\n"
            "    architecture    test    \n"
            "    parameters      7B      \n"
            "    quantization    FP16    \n"
            "\n"
            "  Parameters\n"
            "    stop           \"never\"    \n"
            "    stop           \"up\"       \n"
            "    temperature    99         \n"
            "\n");
}

TEST(ShowInfo, VerboseModelInfoMetadataAndTensors) {
  json r = json::parse(R"({
    "details":{"family":"test","parameter_size":"","quantization_level":"FP16"},
    "model_info":{"general.architecture":"test","general.parameter_count":8000000000,
                  "some.true_bool":true,"some.false_bool":false,
                  "test.context_length":1000,"test.embedding_length":11434,
                  "tokenizer.ggml.tokens":["<unk>","<s>","</s>","a"],
                  "tokenizer.ggml.scores":[1,2]},
    "tensors":[{"name":"token_embd.weight","type":"F32","shape":[64,512]}],
    "capabilities":["completion"]})");
  EXPECT_EQ(format_show_info(r, true),
            "  Model\n"
            "    architecture        test     \n"
            "    parameters          8B       \n"
            "    context length      1000     \n"
            "    embedding length    11434    \n"
            "    quantization        FP16     \n"
            "\n"
            "  Capabilities\n"
            "    completion    \n"
            "\n"
            "  Metadata\n"
            "    general.architecture       test                  \n"
            "    general.parameter_count    8e+09                 \n"
            "    some.false_bool            false                 \n"
            "    some.true_bool             true                  \n"
            "    test.context_length        1000                  \n"
            "    test.embedding_length      11434                 \n"
            "    tokenizer.ggml.scores      [1 2]                 \n"
            "    tokenizer.ggml.tokens      [<unk> ...+3 more]    \n"
            "\n"
            "  Tensors\n"
            "    token_embd.weight    F32    [64 512]    \n"
            "\n");
  // Without -v there are no Metadata/Tensors sections.
  EXPECT_EQ(format_show_info(r, false).find("Metadata"), std::string::npos);
}

TEST(ShowInfo, SystemAndLicenseShowTwoLines) {
  json r = json::parse(R"({"details":{"family":"llama","parameter_size":"260K",
                           "quantization_level":"F32"},
                           "system":"You are a storyteller.\n\nBe brief.",
                           "license":"MIT License\n\nCopyright (c) 2023\n\nPermission is granted"})");
  EXPECT_EQ(format_show_info(r, false),
            "  Model\n"
            "    architecture    llama    \n"
            "    parameters      260K     \n"
            "    quantization    F32      \n"
            "\n"
            "  System\n"
            "    You are a storyteller.    \n"
            "    Be brief.                 \n"
            "\n"
            "  License\n"
            "    MIT License           \n"
            "    Copyright (c) 2023    \n"
            "    ...                   \n"
            "\n");
}

}  // namespace
}  // namespace cli

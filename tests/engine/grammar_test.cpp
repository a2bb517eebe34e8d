// Constrained decoding (engine/sample/grammar, json_schema, regex_grammar, constraint): the
// schema compiler and matcher accept and reject byte strings as JSON Schema says, integer and
// number bounds hold against brute force, and token masks on real vocabularies equal the
// token-by-token check.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "api/status.h"
#include "engine/sample/constraint.h"
#include "engine/sample/json_schema.h"
#include "tokenizer_test_util.h"
#include "util/error.h"

namespace {

using engine::sample::compile_format;
using engine::sample::Constraint;
using engine::sample::GrammarState;
using engine::sample::TokenTrie;

// Whether the whole of `text` is a complete match of the format.
bool matches(const std::shared_ptr<const engine::sample::Grammar>& g, const std::string& text) {
  GrammarState s(*g);
  return s.consume(text) && s.complete();
}
// Whether `text` can still be continued into a match.
bool viable(const std::shared_ptr<const engine::sample::Grammar>& g, const std::string& text) {
  GrammarState s(*g);
  return s.consume(text);
}

TEST(JsonGrammar, FreeJsonIsAnObject) {
  auto g = compile_format("json");
  EXPECT_TRUE(matches(g, R"({"a": 1})"));
  EXPECT_TRUE(matches(g, R"( {"a":[1,2.5e3,{"b":null}],"c":"x\"y\u00e9","d":true})"));
  EXPECT_TRUE(matches(g, "{}"));
  EXPECT_TRUE(matches(g, "{\n  \"k\": \"\xc3\xa9\xe2\x82\xac\"\n}"));
  EXPECT_FALSE(matches(g, "[1]"));
  EXPECT_FALSE(matches(g, R"({"a":})"));
  EXPECT_FALSE(matches(g, R"({"a" 1})"));
  EXPECT_FALSE(matches(g, R"({"a":1} )"));      // nothing after the value
  EXPECT_FALSE(viable(g, "{\"a\":\"\x80"));     // a lone continuation byte
  EXPECT_FALSE(viable(g, "{\"a\":\"\n"));       // raw newline inside a string
  EXPECT_FALSE(viable(g, "{\n\n"));             // whitespace is limited
  EXPECT_TRUE(viable(g, "{\"a\":\"\xe2\x82"));  // a partial UTF-8 character can continue
}

const char* kPerson = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 5},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 2},
    "active": {"type": "boolean"},
    "nick": {"type": ["string", "null"]}
  },
  "required": ["name", "age", "active"]
})";

TEST(JsonGrammar, ObjectSchema) {
  auto g = compile_format(kPerson);
  EXPECT_TRUE(matches(g, R"({"name":"Ann","age":42,"tags":["a","c"],"active":true,"nick":null})"));
  EXPECT_TRUE(matches(g, R"({"name": "Ann", "age": 0, "active": false})"));
  EXPECT_TRUE(matches(g, R"({"name":"Ann","age":120,"active":false,"nick":"x"})"));
  EXPECT_FALSE(matches(g, R"({"name":"Annabel","age":42,"active":true})"));   // maxLength
  EXPECT_FALSE(matches(g, R"({"name":"","age":42,"active":true})"));          // minLength
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":121,"active":true})"));      // maximum
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":-1,"active":true})"));       // minimum
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":4.5,"active":true})"));      // integer
  EXPECT_FALSE(matches(g, R"({"name":"Ann","active":true})"));                // required
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":1,"active":true,"x":1})"));  // additional
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":1,"tags":["a","b","c"],"active":true})"));
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":1,"tags":["d"],"active":true})"));
  EXPECT_FALSE(matches(g, R"({"age":1,"name":"Ann","active":true})"));  // schema order
}

TEST(JsonGrammar, IntegerRangesMatchBruteForce) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-1200, 1200);
  for (int trial = 0; trial < 40; trial++) {
    int lo = d(rng), hi = d(rng);
    if (trial < 4) lo = std::array<int, 4>{0, 1, -9, 99}[trial], hi = lo + trial * 7;
    if (lo > hi) std::swap(lo, hi);
    auto g = compile_format(R"({"type":"integer","minimum":)" + std::to_string(lo) +
                            R"(,"maximum":)" + std::to_string(hi) + "}");
    for (int v = lo - 30; v <= hi + 30; v++) {
      ASSERT_EQ(matches(g, std::to_string(v)), v >= lo && v <= hi)
          << lo << ".." << hi << " v=" << v;
    }
    EXPECT_FALSE(matches(g, "01"));
    EXPECT_FALSE(matches(g, "-0"));
  }
  auto ex = compile_format(R"({"type":"integer","exclusiveMinimum":3,"exclusiveMaximum":7})");
  for (int v = 0; v < 10; v++) EXPECT_EQ(matches(ex, std::to_string(v)), v > 3 && v < 7);
  EXPECT_THROW(compile_format(R"({"type":"integer","minimum":5,"maximum":4})"), util::Error);
}

TEST(JsonGrammar, NumberBoundsOnlyAdmitNumbersInRange) {
  struct B {
    const char* schema;
    double lo, hi;
    bool lex, hex;
  };
  for (const B& b :
       {B{R"({"type":"number","minimum":0,"maximum":1})", 0, 1, false, false},
        B{R"({"type":"number","minimum":-2.5,"maximum":3.5})", -2.5, 3.5, false, false},
        B{R"({"type":"number","exclusiveMinimum":-3,"exclusiveMaximum":2})", -3, 2, true, true}}) {
    auto g = compile_format(b.schema);
    int admitted = 0;
    for (int i = -500; i <= 500; i++) {
      for (const std::string& s :
           {std::to_string(i / 100), std::to_string(i / 100.0).substr(0, 6)}) {
        if (!matches(g, s)) continue;
        admitted++;
        const double v = std::stod(s);
        EXPECT_TRUE(b.lex ? v > b.lo : v >= b.lo) << b.schema << " admitted " << s;
        EXPECT_TRUE(b.hex ? v < b.hi : v <= b.hi) << b.schema << " admitted " << s;
      }
    }
    EXPECT_GT(admitted, 10) << b.schema;
  }
  auto g = compile_format(R"({"type":"number","minimum":0,"maximum":1})");
  EXPECT_TRUE(matches(g, "0.25"));
  EXPECT_TRUE(matches(g, "1"));
}

TEST(JsonGrammar, PatternsFormatsRefsAndAlternatives) {
  auto p = compile_format(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}(x|yz)?$"})");
  EXPECT_TRUE(matches(p, R"("AB-123")"));
  EXPECT_TRUE(matches(p, R"("AB-123yz")"));
  EXPECT_FALSE(matches(p, R"("AB-12")"));
  EXPECT_FALSE(matches(p, R"("ab-123")"));
  auto date = compile_format(R"({"type":"string","format":"date"})");
  EXPECT_TRUE(matches(date, R"("2026-12-07")"));
  EXPECT_FALSE(matches(date, R"("2026-13-07")"));
  auto uuid = compile_format(R"({"type":"string","format":"uuid"})");
  EXPECT_TRUE(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(matches(uuid, R"("123e4567")"));
  auto tree = compile_format(R"({"$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer","minimum":0,"maximum":9},
      "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
      "required":["v"]}}, "$ref":"#/$defs/node"})");
  EXPECT_TRUE(matches(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4}]}]})"));
  EXPECT_FALSE(matches(tree, R"({"v":1,"kids":[{"v":12}]})"));
  auto any =
      compile_format(R"({"anyOf":[{"type":"integer","minimum":0,"maximum":3},{"const":"none"}]})");
  EXPECT_TRUE(matches(any, "2"));
  EXPECT_TRUE(matches(any, R"("none")"));
  EXPECT_FALSE(matches(any, "4"));
  auto all = compile_format(R"({"allOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},
                                      {"properties":{"b":{"type":"boolean"}},"required":["b"]}]})");
  EXPECT_TRUE(matches(all, R"({"a":1,"b":true})"));
  EXPECT_FALSE(matches(all, R"({"a":1})"));
  auto pre = compile_format(
      R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false})");
  EXPECT_TRUE(matches(pre, R"([1,"x"])"));
  EXPECT_FALSE(matches(pre, R"([1,"x",2])"));
  auto unknown = compile_format(R"({"type":"string","description":"ignored","x-foo":1})");
  EXPECT_TRUE(matches(unknown, R"("hi")"));
}

TEST(JsonGrammar, SpecsWithBranchesAndAFreeLead) {
  engine::sample::FormatSpec spec;
  spec.lead_open = "<|channel|>analysis<|message|>";
  spec.lead_close = "<|end|><|start|>assistant";
  spec.branches = {{"<|channel|>commentary to=functions.a <|constrain|>json<|message|>",
                    R"({"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]})"},
                   {"<|channel|>commentary to=functions.b <|constrain|>json<|message|>",
                    R"({"type":"object","properties":{"y":{"type":"boolean"}},"required":["y"]})"}};
  auto g = engine::sample::compile_format(spec);
  const std::string a = "<|channel|>commentary to=functions.a <|constrain|>json<|message|>";
  const std::string b = "<|channel|>commentary to=functions.b <|constrain|>json<|message|>";
  EXPECT_TRUE(matches(g, a + R"({"x":1})"));
  EXPECT_TRUE(matches(g, b + R"({"y":true})"));
  EXPECT_FALSE(matches(g, a + R"({"y":true})"));     // a's arguments are a's
  EXPECT_FALSE(matches(g, " " + a + R"({"x":1})"));  // the header comes first
  const std::string lead = "<|channel|>analysis<|message|>Let me think: a < b, so...";
  EXPECT_TRUE(matches(g, lead + "<|end|><|start|>assistant" + b + R"({"y":false})"));
  EXPECT_FALSE(viable(g, lead + "<|start|>"));  // markers end the free text
  EXPECT_FALSE(matches(g, lead + "<|end|><|start|>assistant<|channel|>final<|message|>Hi"));
  EXPECT_NE(spec.key(), engine::sample::FormatSpec::of("json").key());
}

TEST(JsonGrammar, SchemasItCannotCompileAreClearErrors) {
  for (const char* bad :
       {R"({"type":"strin"})", R"({"$ref":"#/$defs/missing"})", "[1,2]", "{",
        R"({"type":"string","pattern":"(ab"})", R"({"type":"string","pattern":"\\p{L}"})",
        R"({"enum":[]})", R"({"type":"array","minItems":3,"maxItems":2})", "false"}) {
    try {
      compile_format(bad);
      ADD_FAILURE() << "compiled: " << bad;
    } catch (const util::Error& e) {
      EXPECT_EQ(api::http_status(e.kind()), 400) << bad;
      EXPECT_NE(std::string(e.what()).find("format"), std::string::npos) << e.what();
    }
  }
}

std::shared_ptr<TokenTrie> vocab_trie(const tokenizer::Tokenizer& tok) {
  std::vector<std::string> bytes(tok.n_tokens());
  for (int32_t i = 0; i < tok.n_tokens(); i++) bytes[i] = tok.piece(i);
  return std::make_shared<TokenTrie>(bytes, tok.eog_ids());
}

// The mask of each state along a JSON text equals checking every token one by one, on real
// vocabularies (BPE 128k and SentencePiece 32k).
TEST(JsonConstraint, MasksEqualTokenByTokenChecks) {
  for (const char* name : {"llama-bpe", "llama-spm"}) {
    auto l = tokenizer_test::load(tokenizer_test::vocab_path(name));
    auto trie = vocab_trie(*l.tok);
    auto fmt = std::make_shared<engine::sample::CompiledFormat>(compile_format(kPerson));
    Constraint c(fmt, trie);
    const std::string text = R"({"name":"Ann","age":42,"tags":["a"],"active":true})";
    const auto ids = l.tok->encode(text, false, false);
    int steps = 0;
    double max_ms = 0;
    for (size_t k = 0; k <= ids.size(); k++) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<uint64_t> m = c.mask();
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      max_ms = std::max(max_ms, ms);
      int allowed = 0;
      for (int32_t id = 0; id < trie->n_vocab(); id++) {
        const bool in = (m[id >> 6] >> (id & 63)) & 1;
        ASSERT_EQ(in, c.allows(id))
            << name << " step " << k << " token " << id << " '" << trie->bytes(id) << "'";
        allowed += in;
      }
      EXPECT_GT(allowed, 0);
      if (k == ids.size()) {
        EXPECT_TRUE(c.complete());
        EXPECT_TRUE(c.finished());  // '}' ends it: only end-of-generation is allowed
        EXPECT_TRUE(c.allows(trie->eog()[0]));
        break;
      }
      EXPECT_FALSE(c.allows(trie->eog()[0])) << "end allowed before the value is complete";
      c.accept(ids[k]);
      steps++;
    }
    EXPECT_GT(steps, 5);
    std::printf("[ %s ] %d tokens: slowest uncached mask %.2f ms\n", name, trie->n_vocab(), max_ms);
  }
}

}  // namespace

// libFuzzer target: structured-output formats. A `format` value is compiled the way
// /api/generate compiles it (engine::sample::compile_format: JSON Schema, regex patterns,
// integer/number ranges, $ref), and when it compiles, bytes of "model output" run through the
// matcher byte by byte as the runner feeds it token bytes.
//
// Input: FORMAT [ '\0' OUTPUT ]. Without a NUL byte the output is a fixed JSON text.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/sample/grammar.h"
#include "engine/sample/json_schema.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string format(in.substr(0, nul));
  const std::string output =
      nul == std::string_view::npos
          ? std::string(R"( {"name": "Ann", "age": 42, "tags": ["a", 1.5e3, null]})")
          : std::string(in.substr(nul + 1));
  fuzz::on_request_stack([&] {
    std::shared_ptr<const engine::sample::Grammar> g;
    if (!fuzz::expect_ok_or_error([&] { g = engine::sample::compile_format(format); })) return;
    fuzz::expect_ok_or_error([&] {
      engine::sample::GrammarState s(*g), next;
      for (unsigned char c : output) {
        if (!s.advance(c, next)) break;
        std::swap(s, next);
        (void)s.key();
      }
      (void)s.complete();
      (void)s.can_continue();
    });
  });
  return 0;
}

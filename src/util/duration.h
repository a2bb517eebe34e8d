// Go-style durations: parse "1h30m", "-1s", "300ms"; format like Go's time.Duration.String().
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace util {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kForever = INT64_MAX;  // keep_alive < 0 is stored as this

// Parses a Go duration string into nanoseconds. Throws util::Error (400) with Go's message,
// e.g. `time: missing unit in duration "3600"` or `time: invalid duration "x"`.
int64_t parse_go_duration(std::string_view s);

// Formats nanoseconds like Go: "5m0s", "1.5s", "300ms", "0s", "1h0m0s".
std::string format_go_duration(int64_t ns);

// OLLAMA_KEEP_ALIVE style: a Go duration or plain integer seconds; negative -> kForever.
// Returns nullopt when unparsable.
std::optional<int64_t> parse_keep_alive_env(std::string_view s);

}  // namespace util

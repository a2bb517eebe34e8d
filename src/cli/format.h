// Human-readable numbers, sizes and times exactly as Ollama's CLI prints them (format/*.go).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cli {

// Decimal units B, KB, MB, GB, TB: "512 B", "1.2 KB", "15 MB", "2 GB" (>= 10 shows an integer,
// a whole value shows no decimal, otherwise one decimal).
std::string human_bytes(int64_t b);

// Parameter counts: "7B", "8.0B"-style ("3.2B", "260K", "567.24M", "999").
std::string human_number(uint64_t n);

// "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
// "About an hour", "N hours", "N days", "N weeks", "N months", "N years".
std::string human_duration(int64_t ns);

// format.HumanTime: "<duration> ago", "<duration> from now", "Forever" (more than 20 years
// ahead); zero_value when the time is Go's zero time. now/then are Unix nanoseconds.
std::string human_time(int64_t then_ns, int64_t now_ns, bool is_zero, std::string_view zero_value);

// Go's %g / %v for a float64 ("2048", "1e-05", "1e+06", "0.5").
std::string go_format_g(double v);
// strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent.
std::string go_format_f(double v);

// Go's %v of a decoded JSON value (strings bare, numbers %g, arrays "[a b]", maps
// "map[k:v]").
std::string go_format_v(const nlohmann::json& v);

// Terminal columns a UTF-8 string takes (East Asian wide = 2, combining marks = 0).
int display_width(std::string_view s);

}  // namespace cli

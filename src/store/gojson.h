// JSON text exactly as Go's encoding/json Encoder writes it, so blobs we write (params,
// messages, config, manifests) are byte-identical to Ollama's for the same content.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace store {

// A quoted JSON string with Go's escaping: \" \\ \n \r \t \b \f, other controls as \u00XX,
// HTML-sensitive <, >, & as \u003c \u003e \u0026, U+2028/2029 escaped, invalid UTF-8 as \ufffd.
std::string go_json_string(std::string_view s);

// Compact JSON of a value: objects with keys sorted (Go maps), integers as written, floats in
// Go's float64 form (shortest; exponent form below 1e-6 or from 1e21, "1e-7" not "1e-07").
std::string go_json_encode(const nlohmann::json& v);
std::string go_json_encode(const nlohmann::ordered_json& v);  // keys sorted as well

// Shortest decimal text of a float32 value re-read as double, so 0.7f is stored as 0.7
// (Go keeps float32 parameters at float32 precision when encoding).
double float32_as_shortest_double(float f);
// Go float64 formatting as used by encoding/json.
std::string go_format_float(double f);

}  // namespace store

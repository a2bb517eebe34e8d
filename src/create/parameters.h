// Modelfile PARAMETER values typed by the option table (api/options.h), Go ParseBool.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace create {

// Converts one Modelfile PARAMETER value to JSON by the option's type (Go api.FormatParams):
// int base-10 (int64), float (float32 precision, written shortest), bool (Go ParseBool),
// and stop as a one-element list. Errors (util::bad_request):
//   unknown parameter '<name>' / invalid int value [<v>] / invalid float value [<v>] /
//   invalid bool value [<v>]
nlohmann::json format_param(std::string_view name, std::string_view value);

// Go strconv.ParseBool; nullopt when not one of 1,t,T,TRUE,true,True,0,f,F,FALSE,false,False.
std::optional<bool> parse_go_bool(std::string_view s);

}  // namespace create

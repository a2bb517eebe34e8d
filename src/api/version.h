// The version this build reports (GET /api/version, `ollama -v`). Keep equal to the
// project() VERSION in the top CMakeLists.txt.
#pragma once

namespace api {
inline constexpr char kVersion[] = "0.13.0";
}  // namespace api

// Go time.Time on the wire: RFC 3339 with nanoseconds (created_at UTC "Z", modified_at local).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace api {

// An instant plus the UTC offset it is displayed in (Go keeps the location in time.Time).
// The default value is Go's zero time, which marshals as "0001-01-01T00:00:00Z".
struct Timestamp {
  static constexpr int64_t kZeroUnixSeconds = -62135596800;  // 0001-01-01T00:00:00Z

  int64_t unix_seconds = kZeroUnixSeconds;
  int32_t nanos = 0;         // 0..999999999
  int32_t utc_offset_s = 0;  // 0 prints "Z"

  bool is_zero() const { return unix_seconds == kZeroUnixSeconds && nanos == 0; }
  int64_t unix_nanos() const { return unix_seconds * 1'000'000'000 + nanos; }
  friend bool operator==(const Timestamp&, const Timestamp&) = default;

  static Timestamp now_utc();
  static Timestamp now_local();
  static Timestamp from_unix_nanos_utc(int64_t ns);
  // In the process's local time zone (TZ), as Go's time.Local.
  static Timestamp from_unix_nanos_local(int64_t ns);
};

// "2023-08-04T19:22:45.499127Z" / "2024-05-01T10:00:00.5+02:00" (fraction trimmed as Go's
// RFC3339Nano).
std::string format_rfc3339_nano(const Timestamp& t);
// Parses RFC 3339 (any fraction length, "Z" or ±hh:mm). Throws util::Error(400) when invalid.
Timestamp parse_rfc3339(std::string_view s);

}  // namespace api

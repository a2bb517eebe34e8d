// Error kinds and HTTP statuses: the server's mapping (Ollama's statuses for each failure) and
// the client's way back.
#include "api/status.h"

#include <gtest/gtest.h>

using util::ErrorKind;

TEST(ErrorStatus, KindsMapToOllamasStatuses) {
  EXPECT_EQ(api::http_status(ErrorKind::kBadRequest), 400);
  EXPECT_EQ(api::http_status(ErrorKind::kBadModelFile), 400);
  EXPECT_EQ(api::http_status(ErrorKind::kUnauthorized), 401);
  EXPECT_EQ(api::http_status(ErrorKind::kNotFound), 404);
  EXPECT_EQ(api::http_status(ErrorKind::kConflict), 409);
  EXPECT_EQ(api::http_status(ErrorKind::kTooLarge), 413);
  EXPECT_EQ(api::http_status(ErrorKind::kCancelled), 499);
  EXPECT_EQ(api::http_status(ErrorKind::kUnavailable), 503);
  EXPECT_EQ(api::http_status(ErrorKind::kNoSpace), 507);
  EXPECT_EQ(api::http_status(ErrorKind::kInternal), 500);
  EXPECT_EQ(api::http_status(ErrorKind::kUnsupported), 500);
  EXPECT_EQ(api::http_status(ErrorKind::kOutOfMemory), 500);
}

TEST(ErrorStatus, ClientReadsStatusesBackAsKinds) {
  for (ErrorKind k : {ErrorKind::kBadRequest, ErrorKind::kUnauthorized, ErrorKind::kNotFound,
                      ErrorKind::kConflict, ErrorKind::kTooLarge, ErrorKind::kCancelled,
                      ErrorKind::kUnavailable, ErrorKind::kNoSpace, ErrorKind::kInternal}) {
    EXPECT_EQ(api::kind_of_status(api::http_status(k)), k);
  }
  EXPECT_EQ(api::kind_of_status(403), ErrorKind::kUnauthorized);
  EXPECT_EQ(api::kind_of_status(502), ErrorKind::kInternal);
}

TEST(ErrorStatus, LibraryErrorsDefaultToInternal) {
  const util::Error e("boom");
  EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  EXPECT_EQ(util::bad_request("x").kind(), ErrorKind::kBadRequest);
  EXPECT_EQ(util::not_found("x").kind(), ErrorKind::kNotFound);
}

// OpenSSH Ed25519 key encoding (server/keys.h), checked against RFC 8032 test vector 1 and
// the openssh-key-v1 layout; ensure_identity_key writes loadable files once.
#include "registry/identity.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace registry {
namespace {

// RFC 8032 §7.1 TEST 1.
const unsigned char kSeed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
const unsigned char kPub[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

std::string decode_pem_body(const std::string& pem) {
  std::istringstream in(pem);
  std::string line, b64;
  while (std::getline(in, line))
    if (line.rfind("-----", 0) != 0) b64 += line;
  std::string out(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  size_t pad = 0;
  while (pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  out.resize(n - pad);
  return out;
}

TEST(Keys, PublicLine) {
  EXPECT_EQ(openssh_public_key_line(kPub),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
}

TEST(Keys, PrivatePemLayout) {
  std::string pem = openssh_private_key_pem(kSeed, kPub, 0x01020304);
  EXPECT_EQ(pem.rfind("-----BEGIN OPENSSH PRIVATE KEY-----\n", 0), 0u);
  EXPECT_NE(pem.find("\n-----END OPENSSH PRIVATE KEY-----\n"), std::string::npos);
  std::istringstream in(pem);
  std::string line;
  while (std::getline(in, line)) EXPECT_LE(line.size(), 64u);
  std::string body = decode_pem_body(pem);
  ASSERT_EQ(body.compare(0, 15, std::string("openssh-key-v1\0", 15)), 0);
  // magic(15) + "none"(8) + "none"(8) + ""(4) + nkeys(4) + pubblob(4+51) + priv(4+n)
  size_t pos = 15 + 8 + 8 + 4 + 4;
  EXPECT_EQ(body.substr(15, 8), std::string("\0\0\0\4none", 8));
  EXPECT_EQ(static_cast<unsigned char>(body[pos + 3]), 51);
  pos += 4 + 51;
  uint32_t priv_len = 0;
  for (int i = 0; i < 4; ++i) priv_len = priv_len << 8 | static_cast<unsigned char>(body[pos + i]);
  EXPECT_EQ(priv_len % 8, 0u);
  EXPECT_EQ(body.size(), pos + 4 + priv_len);
  std::string priv = body.substr(pos + 4);
  EXPECT_EQ(priv.substr(0, 8), std::string("\1\2\3\4\1\2\3\4", 8));
  // check ints, "ssh-ed25519", pub, then 64-byte secret = seed || pub.
  size_t secret_at = 8 + 4 + 11 + 4 + 32 + 4;
  EXPECT_EQ(priv.substr(secret_at, 32), std::string(reinterpret_cast<const char*>(kSeed), 32));
  EXPECT_EQ(priv.substr(secret_at + 32, 32), std::string(reinterpret_cast<const char*>(kPub), 32));
}

TEST(Keys, EnsureCreatesOnce) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("oc-keys-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ensure_identity_key(dir.string());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "id_ed25519").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream pub(dir / "id_ed25519.pub");
  std::string pub_text((std::istreambuf_iterator<char>(pub)), {});
  EXPECT_EQ(pub_text.rfind("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 0), 0u);
  auto mtime = fs::last_write_time(dir / "id_ed25519");
  ensure_identity_key(dir.string());  // present: untouched
  EXPECT_EQ(fs::last_write_time(dir / "id_ed25519"), mtime);
  fs::remove_all(dir);
}

// RFC 8032 §7.1 TEST 1: the signature of the empty message.
const char* kSigEmptyHex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
    "1cf9b46bd25bf5f0595bbe24655141438e7a100b";

std::string hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

bool verifies(const unsigned char pub[32], const std::string& msg, const std::string& sig) {
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub, 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, k) > 0 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  return ok;
}

std::string b64_decode(const std::string& b64) { return decode_pem_body("-----\n" + b64 + "\n"); }

TEST(Keys, LoadsWhatItWroteAndSignsAsRfc8032) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("oc-keys-load-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  EXPECT_FALSE(load_identity(dir.string()).has_value());  // no key: unsigned requests
  fs::create_directories(dir);
  std::ofstream(dir / "id_ed25519") << openssh_private_key_pem(kSeed, kPub, 7);
  auto id = load_identity(dir.string());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(id->seed), 32),
            std::string(reinterpret_cast<const char*>(kSeed), 32));
  EXPECT_EQ(id->public_key_base64(),
            "AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
  EXPECT_EQ(hex(b64_decode(id->sign_base64(""))), kSigEmptyHex);

  // Token requests: "<pubkey>:<sig>" over GET,<url>,<base64 of the empty body's hex digest>.
  const std::string url = "https://registry.example/token?service=s&scope=a&ts=1&nonce=n";
  const std::string auth = sign_token_request(*id, url);
  ASSERT_EQ(auth.rfind(id->public_key_base64() + ":", 0), 0u) << auth;
  const std::string sig = b64_decode(auth.substr(auth.find(':') + 1));
  EXPECT_TRUE(verifies(kPub,
                       "GET," + url +
                           ",ZTNiMGM0NDI5OGZjMWMxNDlhZmJmNGM4OTk2ZmI5MjQyN2FlNDFlNDY0OWI5MzRj"
                           "YTQ5NTk5MWI3ODUyYjg1NQ==",
                       sig));
  EXPECT_FALSE(verifies(kPub, "GET," + url + ",x", sig));

  std::ofstream(dir / "id_ed25519") << "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                                       "-----END OPENSSH PRIVATE KEY-----\n";
  EXPECT_THROW(load_identity(dir.string()), util::Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace registry

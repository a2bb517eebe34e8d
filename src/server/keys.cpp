#include "server/keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "util/error.h"

namespace server {
namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}
void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n);
  return out;
}

std::string public_blob(const unsigned char pub[32]) {
  std::string b;
  put_string(b, "ssh-ed25519");
  put_string(b, std::string_view(reinterpret_cast<const char*>(pub), 32));
  return b;
}

void write_file(const std::filesystem::path& p, const std::string& data, mode_t mode) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) throw util::Error("open " + p.string() + ": " + std::strerror(errno));
  ::chmod(p.c_str(), mode);
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) throw util::Error("write " + p.string() + ": " + std::strerror(errno));
}

}  // namespace

std::string openssh_private_key_pem(const unsigned char seed[32], const unsigned char pub[32],
                                    uint32_t check) {
  std::string priv;
  put_u32(priv, check);
  put_u32(priv, check);
  put_string(priv, "ssh-ed25519");
  put_string(priv, std::string_view(reinterpret_cast<const char*>(pub), 32));
  std::string secret(reinterpret_cast<const char*>(seed), 32);
  secret.append(reinterpret_cast<const char*>(pub), 32);
  put_string(priv, secret);
  put_string(priv, "");  // comment
  for (char pad = 1; priv.size() % 8 != 0; ++pad) priv += pad;

  std::string body("openssh-key-v1", 15);  // includes the NUL terminator
  put_string(body, "none");
  put_string(body, "none");
  put_string(body, "");
  put_u32(body, 1);
  put_string(body, public_blob(pub));
  put_string(body, priv);

  std::string b64 = base64(body);
  std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END OPENSSH PRIVATE KEY-----\n";
  return pem;
}

std::string openssh_public_key_line(const unsigned char pub[32]) {
  return "ssh-ed25519 " + base64(public_blob(pub));
}

void ensure_identity_key(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path priv_path = fs::path(dir) / "id_ed25519";
  std::error_code ec;
  if (fs::exists(priv_path, ec)) return;
  std::printf("Couldn't find '%s'. Generating new private key.\n", priv_path.c_str());
  std::fflush(stdout);

  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> kctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) <= 0 || EVP_PKEY_keygen(kctx.get(), &raw) <= 0)
    throw util::Error("could not generate an ed25519 key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  unsigned char seed[32], pub[32];
  size_t seed_len = 32, pub_len = 32;
  if (EVP_PKEY_get_raw_private_key(key.get(), seed, &seed_len) <= 0 ||
      EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_len) <= 0 || seed_len != 32 ||
      pub_len != 32)
    throw util::Error("could not read the generated ed25519 key");
  uint32_t check = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&check), sizeof check);

  fs::create_directories(dir, ec);
  if (ec) throw util::Error("could not create directory " + dir + ": " + ec.message());
  write_file(priv_path, openssh_private_key_pem(seed, pub, check), 0600);
  std::string pub_line = openssh_public_key_line(pub) + "\n";
  write_file(fs::path(dir) / "id_ed25519.pub", pub_line, 0644);
  OPENSSL_cleanse(seed, sizeof seed);
  std::printf("Your new public key is: \n\n%s\n", pub_line.c_str());
  std::fflush(stdout);
}

}  // namespace server

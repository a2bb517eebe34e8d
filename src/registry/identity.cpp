#include "registry/identity.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "util/error.h"

namespace registry {
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

// Reads the SSH wire format: u32 big-endian lengths and strings.
class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  uint32_t u32() {
    need(4);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = (v << 8) | static_cast<unsigned char>(d_[pos_++]);
    return v;
  }
  std::string_view str() {
    uint32_t n = u32();
    need(n);
    std::string_view s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view raw(size_t n) {
    need(n);
    std::string_view s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  void need(size_t n) const {
    if (d_.size() - pos_ < n) throw util::Error("truncated key");
  }
  std::string_view d_;
  size_t pos_ = 0;
};

std::string base64_decode(const std::string& b64) {
  std::string out(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) throw util::Error("bad base64");
  size_t pad = 0;
  for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; i--) pad++;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
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
      EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_len) <= 0 || seed_len != 32 || pub_len != 32)
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

std::string Identity::public_key_base64() const { return base64(public_blob(pub)); }

std::string Identity::sign_base64(std::string_view message) const {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32), EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) <= 0 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) <= 0)
    throw util::Error("could not sign with the ed25519 key");
  return base64(std::string_view(reinterpret_cast<const char*>(sig), sig_len));
}

std::optional<Identity> load_identity(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(dir) / "id_ed25519";
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line, b64;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("-----BEGIN OPENSSH PRIVATE KEY-----", 0) == 0) {
      inside = true;
    } else if (line.rfind("-----END", 0) == 0) {
      break;
    } else if (inside) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      b64 += line;
    }
  }
  try {
    if (b64.empty()) throw util::Error("no OPENSSH PRIVATE KEY block");
    const std::string body = base64_decode(b64);
    Reader r(body);
    if (r.raw(15) != std::string_view("openssh-key-v1", 15))
      throw util::Error("not openssh-key-v1");
    if (r.str() != "none" || r.str() != "none")
      throw util::Error("encrypted keys are not supported");
    r.str();  // kdf options
    if (r.u32() != 1) throw util::Error("expected one key");
    r.str();  // public key blob
    Reader p(r.str());
    if (p.u32() != p.u32()) throw util::Error("check-ints differ");
    if (p.str() != "ssh-ed25519") throw util::Error("not an ed25519 key");
    std::string_view pub = p.str(), secret = p.str();
    if (pub.size() != 32 || secret.size() != 64) throw util::Error("bad ed25519 key sizes");
    Identity id{};
    std::memcpy(id.seed, secret.data(), 32);
    std::memcpy(id.pub, pub.data(), 32);
    return id;
  } catch (const util::Error& e) {
    throw util::Error(path.string() + ": not a usable OpenSSH ed25519 key (" + e.what() + ")");
  }
}

std::string sign_token_request(const Identity& id, const std::string& url) {
  // The body is empty: its digest is sha256 of nothing, as hex, then base64 of that text.
  const std::string empty_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  return id.public_key_base64() + ":" + id.sign_base64("GET," + url + "," + base64(empty_hex));
}

}  // namespace registry

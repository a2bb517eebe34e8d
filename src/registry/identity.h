// The server's identity key (~/.ollama/id_ed25519, OpenSSH format): created on first start,
// used to sign token requests to a registry's auth realm (§8.7).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace registry {

// Encodes an Ed25519 key pair as an unencrypted "OPENSSH PRIVATE KEY" PEM (64-column lines,
// as Go's ssh.MarshalPrivateKey + pem.EncodeToMemory write it). `check` is the check-int.
std::string openssh_private_key_pem(const unsigned char seed[32], const unsigned char pub[32],
                                    uint32_t check);
// "ssh-ed25519 <base64 wire key>" (no newline).
std::string openssh_public_key_line(const unsigned char pub[32]);

// If <dir>/id_ed25519 is missing: generates a key, writes it (0600) and id_ed25519.pub
// (0644), prints Ollama's two messages to stdout. Throws util::Error on failure.
void ensure_identity_key(const std::string& dir);

// A key pair read back from <dir>/id_ed25519.
struct Identity {
  unsigned char seed[32];
  unsigned char pub[32];
  // The base64 of the SSH wire-format public key (the .pub line's second field).
  std::string public_key_base64() const;
  // Standard base64 of the Ed25519 signature of `message`.
  std::string sign_base64(std::string_view message) const;
};

// nullopt when <dir>/id_ed25519 does not exist; util::Error for a file that is not an
// unencrypted OpenSSH Ed25519 key.
std::optional<Identity> load_identity(const std::string& dir);

// The `Authorization` value of a token request (§8.7): "<public key>:<signature>" over
// "GET,<url>,<base64 of the hex sha256 of the empty body>".
std::string sign_token_request(const Identity& id, const std::string& url);

}  // namespace registry

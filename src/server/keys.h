// The server's identity key (~/.ollama/id_ed25519, OpenSSH format) used to sign registry
// requests: created on first start.
#pragma once
#include <string>

namespace server {

// Encodes an Ed25519 key pair as an unencrypted "OPENSSH PRIVATE KEY" PEM (64-column lines,
// as Go's ssh.MarshalPrivateKey + pem.EncodeToMemory write it). `check` is the check-int.
std::string openssh_private_key_pem(const unsigned char seed[32], const unsigned char pub[32],
                                    uint32_t check);
// "ssh-ed25519 <base64 wire key>" (no newline).
std::string openssh_public_key_line(const unsigned char pub[32]);

// If <dir>/id_ed25519 is missing: generates a key, writes it (0600) and id_ed25519.pub
// (0644), prints Ollama's two messages to stdout. Throws util::Error on failure.
void ensure_identity_key(const std::string& dir);

}  // namespace server

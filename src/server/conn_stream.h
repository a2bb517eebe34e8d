// One client connection's bytes: the buffer the reactor filled, and httplib's Stream over it and
// the socket with the body deadlines (a next-byte timeout and a minimum rate) and write timeout.
#pragma once
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "server/connections.h"

namespace server {

struct Connections::Conn {
  // kLinger: the server is done with it; what the client still sends is read and dropped
  // until it closes (see Connections::linger_locked).
  enum class State { kIdle, kHeaders, kBusy, kLinger } state = State::kIdle;
  uint64_t id = 0;
  int fd = -1;
  std::string ip, local_ip;
  int port = -1, local_port = -1;
  std::string buf;  // received, not yet parsed: buf[rpos..]
  size_t rpos = 0;
  size_t scan = 0;  // where the search for the end of the headers resumes
  std::chrono::steady_clock::time_point since;     // entered its current state
  std::chrono::steady_clock::time_point deadline;  // idle / header deadline in the reactor
  size_t served = 0;                               // requests answered on this connection
  size_t discarded = 0;                            // bytes dropped while lingering
  bool close_after = false;                        // the response said "Connection: close"
  // While busy (new for each turn with a worker): `gone` is stopped when the reactor sees
  // the client hang up, `ended` then too and when the server starts draining.
  std::stop_source gone, ended;

  size_t pending() const { return buf.size() - rpos; }
  // Whether a whole request head (line and headers, up to the blank line) is buffered.
  bool has_request();
  // Drops the consumed bytes.
  void compact();
};

// Decides from the buffered head alone whether the request may be served: bodies on methods
// that httplib buffers before routing (GET, HEAD, OPTIONS) are bounded. On refusal `status`
// holds the status line ("413 Payload Too Large").
bool precheck_request(const Connections::Conn& c, const ConnectionLimits& limits,
                      std::string& status);

class ConnStream : public httplib::Stream {
 public:
  ConnStream(Connections::Conn& c, const ConnectionLimits& limits) : c_(c), limits_(limits) {}

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return c_.fd; }

  // Bytes this request read from the socket (its body beyond what the reactor buffered).
  size_t socket_bytes() const { return socket_bytes_; }

 private:
  // Reads more from the socket into the buffer. 1: data, 0: end of stream, -1: error/deadline.
  int fill();

  Connections::Conn& c_;
  const ConnectionLimits& limits_;
  bool reading_ = false;
  std::chrono::steady_clock::time_point first_read_;
  size_t socket_bytes_ = 0;
};

}  // namespace server

// Client connections: an epoll reactor holds idle and half-received connections (no thread
// each, deadlines on every state), a worker pool that grows on demand serves complete requests,
// and caps per client and in total close the oldest idle connection before refusing a new one.
// Slow or silent clients therefore cost a file descriptor, never a worker.
#pragma once
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/thread.h"

namespace server {

struct ConnectionLimits {
  size_t max_connections = 4096;                    // open client connections in all
  size_t max_per_client = 1024;                     // open connections per remote address
  int max_workers = 1024;                           // threads serving requests (busy connections)
  int min_workers = 4;                              // kept when idle
  std::chrono::milliseconds worker_idle{5000};      // an extra idle worker exits after this
  std::chrono::milliseconds header_timeout{10000};  // first byte of a request -> its last header
  std::chrono::milliseconds idle_timeout{30000};    // keep-alive connection with no request
  std::chrono::milliseconds read_timeout{30000};    // body: longest wait for the next byte
  std::chrono::milliseconds write_timeout{60000};   // longest wait for the client to take bytes
  std::chrono::milliseconds linger_timeout{2000};   // closing: wait for the client to close
  size_t max_linger_bytes = 256u << 20;             // closing: most unread body dropped
  std::chrono::milliseconds body_grace{10000};      // body: time before the rate floor applies
  size_t min_body_rate = 1024;                      // body bytes per second after the grace
  size_t max_header_bytes = 64 * 1024;              // request line + headers
  size_t max_plain_body = 1 << 20;  // bodies of methods routed without a reader (GET, HEAD)
  size_t keep_alive_max = 1000;     // requests per connection
  size_t worker_stack_bytes = util::kRequestStackBytes;
};

// One request on a connection: httplib's Server::process_request over `stream`.
using ServeOne =
    std::function<bool(httplib::Stream& stream, bool close_connection, bool& connection_closed)>;

class Connections {
 public:
  Connections(ConnectionLimits limits, ServeOne serve);
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Takes ownership of an accepted socket (any thread; never blocks).
  void adopt(int fd);
  // Closes idle connections and refuses new ones (from the reactor thread); busy connections
  // close after their current request. Returns at once.
  void stop();
  // Connections whose request is being served.
  int busy() const;
  // Waits until no request is being handled (true) or `wait` passes (false).
  bool wait_idle(std::chrono::milliseconds wait);
  size_t open() const;
  int workers() const;
  const ConnectionLimits& limits() const { return limits_; }

  struct Conn;

 private:
  void reactor_loop();
  void admit_incoming();
  void wake();
  void on_readable(Conn* c);
  void sweep(std::chrono::steady_clock::time_point now);
  void close_locked(Conn* c);
  void linger_locked(Conn* c);
  void arm(Conn* c);
  void to_worker_locked(Conn* c);
  void spawn_worker_locked();
  void worker_loop();
  void serve(Conn* c);
  void release(Conn* c, bool keep);
  bool make_room_locked(const std::string& ip);

  const ConnectionLimits limits_;
  const ServeOne serve_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> incoming_;  // accepted, not yet admitted by the reactor
  bool stop_handled_ = false;                    // the reactor closed the idle ones
  std::unordered_map<std::string, size_t> per_client_;
  uint64_t next_id_ = 1;
  int busy_ = 0;
  bool stopping_ = false;
  uint64_t served_since_trim_ = 0;  // connections released since the last malloc_trim
  std::chrono::steady_clock::time_point last_release_;

  std::deque<Conn*> ready_;
  std::condition_variable work_cv_;
  std::condition_variable workers_done_cv_;
  int workers_ = 0;
  int idle_workers_ = 0;

  std::thread reactor_;
};

// The response being written closes its connection ("Connection: close" set by a handler).
void close_after_response();

// The current request's client, for threads that work on its behalf (a streaming producer)
// and for waits that must end when it leaves. While a request is served the reactor watches
// its socket for a hang-up (EPOLLRDHUP, HUP, ERR) and stops the tokens: nothing polls, and
// checking is a load. Outside a request the tokens never stop.
class ClientWatch {
 public:
  ClientWatch() = default;
  ClientWatch(std::stop_token gone, std::stop_token ended)
      : gone_(std::move(gone)), ended_(std::move(ended)) {}
  // The client closed or reset its connection.
  bool gone() const { return gone_.stop_requested(); }
  // The client has gone or the server is shutting down: streams end at their next frame
  // (their requests drain).
  bool ended() const { return ended_.stop_requested(); }
  // What a wait on behalf of an answer given at the end stops on (the client hanging up).
  const std::stop_token& gone_token() const { return gone_; }
  // What a stream's waits stop on (hang-up or shutdown).
  const std::stop_token& end_token() const { return ended_; }

 private:
  std::stop_token gone_, ended_;
};
ClientWatch current_client();

// Raises this process's open-file limit to its hard limit (as Go's runtime does) and returns
// the soft limit now in force.
size_t raise_open_file_limit();

}  // namespace server

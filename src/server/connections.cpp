#include "server/connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "server/conn_stream.h"
#include "util/error.h"
#include "util/log.h"

namespace server {

using Clock = std::chrono::steady_clock;

namespace {

thread_local Connections::Conn* t_conn = nullptr;

// Requests whose body went past this return their memory to the OS afterwards: glibc keeps
// freed blocks in per-thread arenas, and a few huge bodies would otherwise pin gigabytes.
constexpr size_t kTrimAfterBytes = 1 << 20;

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void peer_of(int fd, bool local, std::string& ip, int& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int rc = local ? getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                 : getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  ip.clear();
  port = -1;
  if (rc != 0) return;
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

// Best effort: a short status line for a client we are about to drop.
void send_status(int fd, const char* status_line) {
  std::string r =
      std::string("HTTP/1.1 ") + status_line + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  [[maybe_unused]] ssize_t n = ::send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

Connections::Connections(ConnectionLimits limits, ServeOne serve)
    : limits_(limits), serve_(std::move(serve)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw util::Error(std::string("cannot create the connection reactor: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // id 0 is the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  reactor_ = std::thread([this] { reactor_loop(); });
}

Connections::~Connections() {
  stop();
  {
    std::unique_lock l(mu_);
    work_cv_.notify_all();
    // Workers finish the request they serve; idle ones leave at once.
    workers_done_cv_.wait(l, [&] { return workers_ == 0; });
  }
  wake();
  reactor_.join();
  std::lock_guard l(mu_);
  for (auto& [id, c] : conns_) ::close(c->fd);
  for (auto& c : incoming_) ::close(c->fd);
  conns_.clear();
  incoming_.clear();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void Connections::adopt(int fd) {
  set_nonblocking(fd);
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  peer_of(fd, false, c->ip, c->port);
  peer_of(fd, true, c->local_ip, c->local_port);
  {
    std::lock_guard l(mu_);
    incoming_.push_back(std::move(c));
  }
  wake();
}

void Connections::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

// Reactor thread: registers the connections accepted since the last turn. Only the reactor
// creates, evicts or closes connections that no worker holds, so it can read them unlocked.
void Connections::admit_incoming() {
  std::lock_guard l(mu_);
  if (stopping_ && !stop_handled_) {
    stop_handled_ = true;
    std::vector<Conn*> idle;
    for (auto& [id, c] : conns_)
      if (c->state != Conn::State::kBusy) idle.push_back(c.get());
    for (Conn* c : idle) close_locked(c);
  }
  for (auto& c : incoming_) {
    if (stopping_ || !make_room_locked(c->ip)) {
      send_status(c->fd, "503 Service Unavailable");
      ::close(c->fd);
      continue;
    }
    c->id = next_id_++;
    c->since = Clock::now();
    c->deadline = c->since + limits_.idle_timeout;
    Conn* raw = c.get();
    conns_.emplace(raw->id, std::move(c));
    per_client_[raw->ip]++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.u64 = raw->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, raw->fd, &ev) != 0) close_locked(raw);
  }
  incoming_.clear();
}

// Over a cap, the oldest connection waiting in the reactor (idle, or slowly sending headers)
// gives way: a flood of silent sockets cannot lock out a client that has a request to send.
bool Connections::make_room_locked(const std::string& ip) {
  const bool client_full = per_client_[ip] >= limits_.max_per_client;
  const bool all_full = conns_.size() >= limits_.max_connections;
  if (!client_full && !all_full) return true;
  Conn* oldest = nullptr;
  for (auto& [id, c] : conns_) {
    if (c->state == Conn::State::kBusy || (client_full && c->ip != ip)) continue;
    if (!oldest || c->since < oldest->since) oldest = c.get();
  }
  if (!oldest) {
    LOG_WARN("refusing a connection from {}: {} connections open ({} from it)", ip, conns_.size(),
             per_client_[ip]);
    return false;
  }
  close_locked(oldest);
  return true;
}

void Connections::close_locked(Conn* c) {
  ::close(c->fd);  // also leaves the epoll set
  auto pc = per_client_.find(c->ip);
  if (pc != per_client_.end() && --pc->second == 0) per_client_.erase(pc);
  conns_.erase(c->id);
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the
// response the client has not read yet (a client still sending a refused body sees only
// "connection reset"). So the server half-closes, drops what the client still sends, and
// closes once the client does, within linger_timeout and max_linger_bytes.
void Connections::linger_locked(Conn* c) {
  ::shutdown(c->fd, SHUT_WR);
  c->state = Conn::State::kLinger;
  c->buf.clear();
  c->rpos = c->scan = 0;
  c->since = Clock::now();
  c->deadline = c->since + limits_.linger_timeout;
  arm(c);
}

void Connections::arm(Conn* c) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void Connections::stop() {
  std::vector<std::stop_source> busy;
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;  // the reactor closes what no worker holds
    work_cv_.notify_all();
    for (auto& [id, c] : conns_)
      if (c->state == Conn::State::kBusy) busy.push_back(c->ended);
  }
  for (auto& s : busy) s.request_stop();  // streams end, waits give up
  wake();
}

bool Connections::wait_idle(std::chrono::milliseconds wait) {
  std::unique_lock l(mu_);
  return workers_done_cv_.wait_for(l, wait, [&] { return busy_ == 0; });
}

int Connections::busy() const {
  std::lock_guard l(mu_);
  return busy_;
}

size_t Connections::open() const {
  std::lock_guard l(mu_);
  return conns_.size();
}

int Connections::workers() const {
  std::lock_guard l(mu_);
  return workers_;
}

void Connections::reactor_loop() {
  epoll_event events[64];
  auto next_sweep = Clock::now();
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 64, 200);
    admit_incoming();
    {
      std::lock_guard l(mu_);
      if (stopping_ && workers_ == 0 && conns_.empty()) return;
    }
    for (int i = 0; i < n; i++) {
      const uint64_t id = events[i].data.u64;
      if (id == 0) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof v);
        continue;
      }
      Conn* c = nullptr;
      std::stop_source gone(std::nostopstate), ended(std::nostopstate);
      {
        std::lock_guard l(mu_);
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        c = it->second.get();
        if (c->state == Conn::State::kBusy) {
          if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            gone = c->gone;
            ended = c->ended;
          }
          c = nullptr;
        }
      }
      // Outside mu_: stopping runs the waiters' callbacks (they take their own locks).
      gone.request_stop();
      ended.request_stop();
      if (c) on_readable(c);
    }
    auto now = Clock::now();
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + std::chrono::milliseconds(200);
    }
  }
}

void Connections::on_readable(Conn* c) {
  // Only the reactor touches a connection that is not busy, so reading needs no lock.
  bool eof = false;
  char buf[16 * 1024];
  if (c->state == Conn::State::kLinger) {
    for (;;) {
      ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
      if (n > 0) {
        c->discarded += static_cast<size_t>(n);
        if (c->discarded > limits_.max_linger_bytes) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      eof = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
      break;
    }
    std::lock_guard l(mu_);
    if (eof || c->discarded > limits_.max_linger_bytes)
      close_locked(c);
    else
      arm(c);
    return;
  }
  for (;;) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      c->buf.append(buf, static_cast<size_t>(n));
      if (c->pending() > limits_.max_header_bytes) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    eof = true;
    break;
  }
  std::lock_guard l(mu_);
  if (c->has_request()) {
    to_worker_locked(c);
    return;
  }
  if (eof || stopping_) {
    close_locked(c);
    return;
  }
  if (c->pending() > limits_.max_header_bytes) {
    send_status(c->fd, "431 Request Header Fields Too Large");
    linger_locked(c);
    return;
  }
  if (c->pending() > 0 && c->state == Conn::State::kIdle) {
    c->state = Conn::State::kHeaders;
    c->since = Clock::now();
    c->deadline = c->since + limits_.header_timeout;
  }
  arm(c);
}

void Connections::sweep(Clock::time_point now) {
  bool trim = false;
  {
    std::lock_guard l(mu_);
    // Once a burst is over, hand the memory its requests freed back to the OS (glibc keeps
    // it in per-thread arenas otherwise, and RSS stays at the burst's peak).
    if (busy_ == 0 && served_since_trim_ > 0 && now - last_release_ > std::chrono::seconds(1)) {
      served_since_trim_ = 0;
      trim = true;
    }
  }
  if (trim) malloc_trim(0);
  std::lock_guard l(mu_);
  std::vector<Conn*> expired;
  for (auto& [id, c] : conns_)
    if (c->state != Conn::State::kBusy && c->deadline <= now) expired.push_back(c.get());
  for (Conn* c : expired) {
    if (c->state == Conn::State::kHeaders) send_status(c->fd, "408 Request Timeout");
    close_locked(c);
  }
}

void Connections::to_worker_locked(Conn* c) {
  c->state = Conn::State::kBusy;
  c->gone = std::stop_source();
  c->ended = std::stop_source();
  if (stopping_) c->ended.request_stop();  // no callbacks yet: nothing runs under mu_
  // Hang-ups only: the worker reads the socket itself, and a pipelined request's bytes
  // must stay unread (no EPOLLIN).
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  busy_++;
  ready_.push_back(c);
  if (static_cast<int>(ready_.size()) > idle_workers_ && workers_ < limits_.max_workers)
    spawn_worker_locked();
  work_cv_.notify_one();
}

void Connections::spawn_worker_locked() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, limits_.worker_stack_bytes);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  auto start = [](void* self) -> void* {
    static_cast<Connections*>(self)->worker_loop();
    return nullptr;
  };
  if (pthread_create(&tid, &attr, start, this) == 0) {
    workers_++;
  } else if (workers_ == 0) {
    LOG_ERROR("cannot start a request worker: {}", strerror(errno));
  }
  pthread_attr_destroy(&attr);
}

void Connections::worker_loop() {
  std::unique_lock l(mu_);
  for (;;) {
    idle_workers_++;
    bool got =
        work_cv_.wait_for(l, limits_.worker_idle, [&] { return !ready_.empty() || stopping_; });
    idle_workers_--;
    if (ready_.empty()) {
      if (stopping_ || (!got && workers_ > limits_.min_workers)) break;
      continue;
    }
    Conn* c = ready_.front();
    ready_.pop_front();
    l.unlock();
    serve(c);
    l.lock();
  }
  workers_--;
  workers_done_cv_.notify_all();
}

void Connections::serve(Conn* c) {
  t_conn = c;
  bool keep = true;
  size_t body_bytes = 0;
  while (keep) {
    std::string why;
    if (!precheck_request(*c, limits_, why)) {
      send_status(c->fd, why.c_str());
      keep = false;
      break;
    }
    bool stopping;
    {
      std::lock_guard l(mu_);
      stopping = stopping_;
    }
    c->close_after = false;
    const bool close_now = stopping || ++c->served >= limits_.keep_alive_max;
    bool closed = false;
    ConnStream stream(*c, limits_);
    bool ok = false;
    try {
      ok = serve_(stream, close_now, closed);
    } catch (const std::exception& e) {
      LOG_ERROR("connection from {} failed: {}", c->ip, e.what());
    }
    body_bytes += stream.socket_bytes();
    keep = ok && !closed && !close_now && !c->close_after;
    if (keep && !c->has_request()) break;  // back to the reactor until the next request
  }
  t_conn = nullptr;
  if (body_bytes >= kTrimAfterBytes) malloc_trim(0);
  release(c, keep);
}

void Connections::release(Conn* c, bool keep) {
  std::lock_guard l(mu_);
  busy_--;
  if (busy_ == 0) workers_done_cv_.notify_all();
  served_since_trim_++;
  last_release_ = Clock::now();
  if (!keep || stopping_) {
    linger_locked(c);
    return;
  }
  c->compact();
  c->state = c->pending() > 0 ? Conn::State::kHeaders : Conn::State::kIdle;
  c->since = Clock::now();
  c->deadline = c->since +
                (c->state == Conn::State::kHeaders ? limits_.header_timeout : limits_.idle_timeout);
  arm(c);
}

void close_after_response() {
  if (t_conn) t_conn->close_after = true;
}

ClientWatch current_client() {
  return t_conn ? ClientWatch(t_conn->gone.get_token(), t_conn->ended.get_token()) : ClientWatch();
}

size_t raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(rl.rlim_cur);
}

}  // namespace server

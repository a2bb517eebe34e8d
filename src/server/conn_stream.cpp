#include "server/conn_stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "util/log.h"

namespace server {

using Clock = std::chrono::steady_clock;

namespace {

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); i++)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

// Waits for `events` on fd up to `wait`; false on timeout or a socket error.
bool wait_for(int fd, short events, std::chrono::milliseconds wait) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, static_cast<int>(std::max<int64_t>(wait.count(), 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    return (p.revents & events) != 0 || (p.revents & POLLHUP) != 0;
  }
}

}  // namespace

bool Connections::Conn::has_request() {
  if (scan < rpos) scan = rpos;
  const size_t from = scan >= rpos + 3 ? scan - 3 : rpos;
  if (buf.find("\r\n\r\n", from) != std::string::npos) return true;
  scan = buf.size();
  return false;
}

void Connections::Conn::compact() {
  if (rpos == 0) return;
  buf.erase(0, rpos);
  scan = scan > rpos ? scan - rpos : 0;
  rpos = 0;
  if (buf.capacity() > (256u << 10) && buf.size() < (64u << 10)) buf.shrink_to_fit();
}

bool precheck_request(const Connections::Conn& c, const ConnectionLimits& limits,
                      std::string& status) {
  std::string_view head(c.buf);
  head.remove_prefix(c.rpos);
  head = head.substr(0, head.find("\r\n\r\n"));
  const std::string_view method = head.substr(0, head.find(' '));
  if (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE")
    return true;  // the handler reads (or refuses) the body itself
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos) {
    size_t end = head.find("\r\n", at + 2);
    std::string_view line = head.substr(at + 2, end == std::string_view::npos ? end : end - at - 2);
    at = end;
    if (iequals_prefix(line, "transfer-encoding:") &&
        line.find("chunked") != std::string_view::npos) {
      status = "413 Payload Too Large";
      return false;
    }
    if (iequals_prefix(line, "content-length:")) {
      std::string_view v = line.substr(15);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      uint64_t n = 0;
      for (char ch : v) {
        if (ch < '0' || ch > '9') break;
        n = n * 10 + static_cast<uint64_t>(ch - '0');
        if (n > limits.max_plain_body) break;
      }
      if (n > limits.max_plain_body) {
        status = "413 Payload Too Large";
        return false;
      }
    }
  }
  return true;
}

int ConnStream::fill() {
  if (c_.rpos == c_.buf.size()) {
    c_.buf.clear();
    c_.rpos = 0;
    c_.scan = 0;
  }
  const auto now0 = Clock::now();
  if (!reading_) {
    reading_ = true;
    first_read_ = now0;
  }
  char tmp[64 * 1024];
  for (;;) {
    const auto now = Clock::now();
    // Body deadlines: no byte for read_timeout, or below min_body_rate once the grace is over.
    auto floor = first_read_ + limits_.body_grace +
                 std::chrono::milliseconds(socket_bytes_ * 1000 /
                                           std::max<size_t>(limits_.min_body_rate, 1));
    auto wait = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(floor - now),
                         limits_.read_timeout);
    if (wait.count() <= 0 || !wait_for(c_.fd, POLLIN, wait)) {
      LOG_DEBUG("dropping {}: request body too slow ({} bytes in {} ms)", c_.ip, socket_bytes_,
                std::chrono::duration_cast<std::chrono::milliseconds>(now - first_read_).count());
      return -1;
    }
    ssize_t n = ::recv(c_.fd, tmp, sizeof tmp, 0);
    if (n > 0) {
      c_.buf.append(tmp, static_cast<size_t>(n));
      socket_bytes_ += static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
    return -1;
  }
}

ssize_t ConnStream::read(char* ptr, size_t size) {
  if (c_.pending() == 0) {
    int r = fill();
    if (r <= 0) return r;
  }
  const size_t n = std::min(size, c_.pending());
  std::memcpy(ptr, c_.buf.data() + c_.rpos, n);
  c_.rpos += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnStream::write(const char* ptr, size_t size) {
  for (;;) {
    ssize_t n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (!wait_for(c_.fd, POLLOUT, limits_.write_timeout)) return -1;
  }
}

bool ConnStream::is_readable() const {
  return c_.pending() > 0 || wait_for(c_.fd, POLLIN, limits_.read_timeout);
}

bool ConnStream::is_writable() const {
  pollfd p{c_.fd, POLLOUT, 0};
  int rc = poll(&p, 1, static_cast<int>(limits_.write_timeout.count()));
  return rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0;
}

void ConnStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = c_.ip;
  port = c_.port;
}

void ConnStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = c_.local_ip;
  port = c_.local_port;
}

}  // namespace server

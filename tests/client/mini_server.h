// A tiny loopback HTTP/1.1 server for client tests: one canned response per connection.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct SeenRequest {
  std::string method, path, headers, body;
};

class MiniServer {
 public:
  using Handler = std::function<std::string(const SeenRequest&)>;

  explicit MiniServer(Handler h) : handler_(std::move(h)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~MiniServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

  // A complete response with a body and Content-Length.
  static std::string response(int status, const std::string& reason, const std::string& body,
                              const std::string& type = "application/json") {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

 private:
  void loop() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[65536];
      size_t header_end = std::string::npos;
      while (header_end == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        header_end = data.find("\r\n\r\n");
      }
      if (header_end == std::string::npos) {
        close(c);
        continue;
      }
      SeenRequest r;
      r.headers = data.substr(0, header_end);
      r.method = r.headers.substr(0, r.headers.find(' '));
      size_t p1 = r.headers.find(' ') + 1;
      r.path = r.headers.substr(p1, r.headers.find(' ', p1) - p1);
      size_t want = 0;
      std::string lower = r.headers;
      for (auto& ch : lower) ch = static_cast<char>(tolower(ch));
      if (auto cl = lower.find("content-length:"); cl != std::string::npos)
        want = std::stoul(lower.substr(cl + 15));
      r.body = data.substr(header_end + 4);
      while (r.body.size() < want) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        r.body.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(r);
      }
      std::string out = handler_(r);
      for (size_t off = 0; off < out.size();) {
        ssize_t n = send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(c);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
};

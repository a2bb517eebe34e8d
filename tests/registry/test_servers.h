// Real peers for registry tests: Debian's docker-registry on loopback (via ../shared/registry),
// a TCP proxy that cuts a transfer mid-blob, and a tiny token realm.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace testreg {

inline int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(s);
  return port;
}

inline int listen_on(int* port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(s, 64);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

inline int connect_to(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// docker-registry started with shared/registry/start.sh; `env` adds REGISTRY_* overrides.
class Registry {
 public:
  explicit Registry(const std::string& env = "") {
    dir_ = std::filesystem::temp_directory_path() /
           ("oc-reg-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    std::string cmd = env + " " OLLAMA_SHARED_DIR "/registry/start.sh " + dir_.string() + " " +
                      std::to_string(port_);
    FILE* p = popen(cmd.c_str(), "r");
    char buf[64] = {0};
    if (p && fgets(buf, sizeof buf, p)) pid_ = std::atoi(buf);
    if (p) pclose(p);
  }
  ~Registry() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  void stop() {
    if (pid_ > 0) {
      std::system((OLLAMA_SHARED_DIR "/registry/stop.sh " + std::to_string(pid_)).c_str());
      pid_ = 0;
    }
  }
  bool ok() const { return pid_ > 0; }
  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path dir_;
  int port_ = 0;
  int pid_ = 0;
};

// Forwards loopback connections to `upstream`. The first `cut_first` responses that grow past
// `cut_after` bytes are cut there (a transfer killed mid-blob).
class CutProxy {
 public:
  CutProxy(int upstream, int cut_first, size_t cut_after)
      : upstream_(upstream), cut_left_(cut_first), cut_after_(cut_after) {
    lfd_ = listen_on(&port_);
    th_ = std::thread([this] { loop(); });
  }
  ~CutProxy() {
    stop_ = true;
    shutdown(lfd_, SHUT_RDWR);
    close(lfd_);
    th_.join();
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  int cuts() const { return cuts_; }

 private:
  void loop() {
    while (!stop_) {
      int c = accept(lfd_, nullptr, nullptr);
      if (c < 0) return;
      conns_.emplace_back([this, c] { relay(c); });
    }
  }
  void relay(int c) {
    int u = connect_to(upstream_);
    if (u < 0) {
      close(c);
      return;
    }
    std::thread up([c, u] {
      char b[16384];
      ssize_t n;
      while ((n = read(c, b, sizeof b)) > 0)
        if (write(u, b, n) != n) break;
      shutdown(u, SHUT_WR);
    });
    char b[16384];
    size_t sent = 0;
    ssize_t n;
    while ((n = read(u, b, sizeof b)) > 0) {
      size_t take = static_cast<size_t>(n);
      // Cut a connection whose response grows past cut_after_, while cuts remain.
      bool cut = sent + take > cut_after_ && cut_left_.fetch_sub(1) > 0;
      if (cut) take = cut_after_ - sent;
      if (take && write(c, b, take) != static_cast<ssize_t>(take)) break;
      sent += take;
      if (cut) {
        cuts_++;
        break;
      }
    }
    shutdown(c, SHUT_RDWR);
    shutdown(u, SHUT_RDWR);
    up.join();
    close(c);
    close(u);
  }
  int upstream_, port_ = 0, lfd_ = -1;
  std::atomic<int> cut_left_;
  size_t cut_after_;
  std::atomic<int> cuts_{0};
  std::atomic<bool> stop_{false};
  std::thread th_;
  std::vector<std::thread> conns_;
};

// Answers every request with {"token": "<token>"} and counts them.
class TokenRealm {
 public:
  explicit TokenRealm(std::string token) : token_(std::move(token)) {
    lfd_ = listen_on(&port_);
    th_ = std::thread([this] {
      while (true) {
        int c = accept(lfd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[8192];
        ssize_t n = read(c, buf, sizeof buf);
        if (n > 0) last_request_ = std::string(buf, static_cast<size_t>(n));
        hits_++;
        std::string body = "{\"token\":\"" + token_ + "\"}";
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)!write(c, resp.data(), resp.size());
        close(c);
      }
    });
  }
  ~TokenRealm() {
    shutdown(lfd_, SHUT_RDWR);
    close(lfd_);
    th_.join();
  }
  int port() const { return port_; }
  int hits() const { return hits_; }
  std::string last_request() const { return last_request_; }

 private:
  std::string token_;
  int port_ = 0, lfd_ = -1;
  std::atomic<int> hits_{0};
  std::string last_request_;
  std::thread th_;
};

}  // namespace testreg

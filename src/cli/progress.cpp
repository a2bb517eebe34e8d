#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cli/format.h"

namespace cli {
namespace {

constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr auto kTick = std::chrono::milliseconds(100);

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; i++) out += s;
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Right-aligns a size in 6 columns ("999 MB").
std::string pad6(const std::string& s) {
  return std::string(s.size() < 6 ? 6 - s.size() : 0, ' ') + s;
}

// Cuts a line to `width` terminal columns: a wrapped line would break the cursor-up redraw.
std::string fit(const std::string& s, int width) {
  if (display_width(s) <= width) return s;
  std::string out;
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xF0)
      n = 4;
    else if (b >= 0xE0)
      n = 3;
    else if (b >= 0xC0)
      n = 2;
    std::string ch = s.substr(i, n);
    int cw = display_width(ch);
    if (w + cw > width) break;
    out += ch;
    w += cw;
    i += n;
  }
  return out;
}

double seconds_rounded(Clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count());
}

}  // namespace

std::string format_eta(int64_t s) {
  if (s >= 100 * 3600) return "99h+";
  if (s >= 3600) return std::to_string(s / 3600) + "h" + std::to_string((s / 60) % 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

std::string Spinner::render(Clock::time_point now, int) const {
  std::string out;
  std::string m = trim(message_);
  if (!m.empty()) out += m + " ";
  if (!stopped_) {
    auto ticks = (now - start_) / kTick;
    out += std::string(kFrames[ticks % 10]) + " ";
  }
  return out;
}

Bar::Bar(std::string message, int64_t total, int64_t initial, Clock::time_point start)
    : message_(std::move(message)),
      total_(total),
      initial_(initial),
      current_(initial),
      started_(start) {
  if (current_ >= total_) {
    stopped_ = true;
    stopped_at_ = start;
  }
}

void Bar::set(int64_t value, Clock::time_point now) {
  value = std::min(value, total_);
  current_ = value;
  if (current_ >= total_ && !stopped_) {
    stopped_ = true;
    stopped_at_ = now;
  }
  // One bucket per second at most; the rate is measured over the last ten.
  if (bucket_time_ != Clock::time_point{} && now - bucket_time_ < std::chrono::seconds(1)) return;
  buckets_.push_back({now, value});
  if (buckets_.size() > 10) buckets_.pop_front();
  bucket_time_ = now;
}

double Bar::percent() const {
  return total_ > 0 ? static_cast<double>(current_) / static_cast<double>(total_) * 100 : 0;
}

double Bar::rate() const {
  double num = 0, den = 0;
  if (stopped_) {
    num = static_cast<double>(current_ - initial_);
    den = seconds_rounded(stopped_at_ - started_);
  } else if (buckets_.size() == 1) {
    num = static_cast<double>(buckets_[0].value - initial_);
    den = seconds_rounded(buckets_[0].at - started_);
  } else if (buckets_.size() > 1) {
    num = static_cast<double>(buckets_.back().value - buckets_.front().value);
    den = seconds_rounded(buckets_.back().at - buckets_.front().at);
  }
  return den != 0 ? num / den : 0;
}

std::string Bar::render(Clock::time_point, int term_width) const {
  std::string pre;
  std::string m = trim(message_);
  if (!m.empty()) pre += m + " ";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3.0f%%", percent());
  pre += pct;

  std::string suf;
  double r = rate();
  if (!stopped_) {
    suf += pad6(human_bytes(current_)) + "/" + pad6(human_bytes(total_));
    if (r > 0) {
      suf += "  " + pad6(human_bytes(static_cast<int64_t>(r))) + "/s";
      auto eta = static_cast<int64_t>(static_cast<double>(total_ - current_) / r);
      suf += "  " + pad6(format_eta(eta));
    } else {
      suf += std::string(18, ' ');
    }
  } else {
    suf += pad6(human_bytes(total_)) + std::string(25, ' ');
  }

  // Two boundary characters plus one space on each side of the bar.
  int f = term_width - display_width(pre) - display_width(suf) - 5;
  int n = f > 0 ? static_cast<int>(f * percent() / 100) : 0;
  std::string mid = " ▕" + repeat("█", n) + repeat(" ", std::max(0, f - n)) + "▏ ";
  return pre + mid + suf;
}

Progress::Progress(FILE* out) : Progress(out, isatty(fileno(out)) != 0) {}
Progress::Progress(FILE* out, bool tty) : out_(out), tty_(tty) {}

Progress::~Progress() { stop(); }

int Progress::term_width() const {
  winsize ws{};
  if (tty_ && ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void Progress::start_locked() {
  if (started_) return;
  started_ = true;
  if (!tty_) return;
  std::fputs("\033[?25l", out_);  // hide the cursor while drawing
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      render_locked();
      cv_.wait_for(lock, kTick);
    }
  });
}

Spinner* Progress::add_spinner(std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = std::make_unique<Spinner>(std::move(message), Clock::now());
  Spinner* p = s.get();
  states_.push_back(std::move(s));
  start_locked();
  if (!tty_) flush_plain_locked(false);
  return p;
}

Bar* Progress::add_bar(std::string message, int64_t total, int64_t initial) {
  std::lock_guard<std::mutex> lock(mu_);
  auto b = std::make_unique<Bar>(std::move(message), total, initial, Clock::now());
  Bar* p = b.get();
  states_.push_back(std::move(b));
  start_locked();
  if (!tty_) flush_plain_locked(false);
  return p;
}

void Progress::set_message(Spinner* s, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  s->message_ = std::move(message);
}

void Progress::stop_spinner(Spinner* s) {
  std::lock_guard<std::mutex> lock(mu_);
  s->stopped_ = true;
  if (!tty_) flush_plain_locked(false);
}

void Progress::set_bar(Bar* b, int64_t value) {
  std::lock_guard<std::mutex> lock(mu_);
  b->set(value, Clock::now());
  if (!tty_) flush_plain_locked(false);
}

void Progress::render_locked() {
  auto now = Clock::now();
  int width = term_width();
  std::string buf = "\033[?2026h";  // synchronized update: no flicker
  for (int i = 0; i < drawn_lines_; i++) {
    if (i > 0) buf += "\033[A";
    buf += "\033[2K\033[1G";
  }
  for (size_t i = 0; i < states_.size(); i++) {
    buf += fit(states_[i]->render(now, width), width) + "\033[K";
    if (i + 1 < states_.size()) buf += "\n";
  }
  buf += "\033[?2026l";
  drawn_lines_ = static_cast<int>(states_.size());
  std::fputs(buf.c_str(), out_);
  std::fflush(out_);
}

void Progress::flush_plain_locked(bool all) {
  auto now = Clock::now();
  while (printed_ < states_.size() && (all || states_[printed_]->done())) {
    std::string line = states_[printed_]->render(now, 80);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out_, "%s\n", line.c_str());
    printed_++;
  }
  std::fflush(out_);
}

void Progress::stop() {
  std::thread ticker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (auto& st : states_)
      if (auto* sp = dynamic_cast<Spinner*>(st.get())) sp->stopped_ = true;
    ticker = std::move(ticker_);
  }
  cv_.notify_all();
  if (ticker.joinable()) ticker.join();
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) return;
  if (tty_) {
    render_locked();
    std::fputs("\n\033[?25h", out_);
    std::fflush(out_);
  } else {
    flush_plain_locked(true);
  }
}

}  // namespace cli

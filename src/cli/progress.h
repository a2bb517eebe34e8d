// Progress display on stderr: spinners and transfer bars, redrawn in place on a terminal and
// printed as plain finished lines otherwise (create now; pull/push reuse it).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cli {

using Clock = std::chrono::steady_clock;

// One line of the display. Methods are called with the owning Progress's lock held.
class ProgressState {
 public:
  virtual ~ProgressState() = default;
  virtual std::string render(Clock::time_point now, int term_width) const = 0;
  virtual bool done() const = 0;
};

// "<message> ⠋ " while running (frames ⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏, 100 ms each); "<message> " once stopped.
class Spinner : public ProgressState {
 public:
  Spinner(std::string message, Clock::time_point start)
      : message_(std::move(message)), start_(start) {}
  std::string render(Clock::time_point now, int term_width) const override;
  bool done() const override { return stopped_; }

 private:
  friend class Progress;
  std::string message_;
  Clock::time_point start_;
  bool stopped_ = false;
};

// "<label> NN% ▕███   ▏ cur/total  rate/s  eta" (Ollama's progress.Bar); when complete only
// the total is shown.
class Bar : public ProgressState {
 public:
  Bar(std::string message, int64_t total, int64_t initial, Clock::time_point start);
  std::string render(Clock::time_point now, int term_width) const override;
  bool done() const override { return stopped_; }
  double percent() const;
  // Bytes per second: over the recorded one-second buckets, or the whole run once complete.
  double rate() const;

 private:
  friend class Progress;
  void set(int64_t value, Clock::time_point now);

  struct Bucket {
    Clock::time_point at;
    int64_t value;
  };
  std::string message_;
  int64_t total_, initial_, current_;
  Clock::time_point started_, stopped_at_, bucket_time_{};
  bool stopped_ = false;
  std::deque<Bucket> buckets_;  // at most 10
};

// ETA text: "45s", "1m30s", "2h5m", capped at "99h+".
std::string format_eta(int64_t seconds);

class Progress {
 public:
  // tty: redraw in place (default: whether `out` is a terminal).
  explicit Progress(FILE* out = stderr);
  Progress(FILE* out, bool tty);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Returned pointers stay valid for the Progress's lifetime.
  Spinner* add_spinner(std::string message);
  Bar* add_bar(std::string message, int64_t total, int64_t initial);
  void set_message(Spinner* s, std::string message);
  void stop_spinner(Spinner* s);
  void set_bar(Bar* b, int64_t value);

  // Stops every spinner, draws the final state and ends the line. Idempotent.
  void stop();
  bool tty() const { return tty_; }

 private:
  void start_locked();
  void render_locked();
  void flush_plain_locked(bool all);
  int term_width() const;

  FILE* out_;
  bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ProgressState>> states_;
  size_t printed_ = 0;   // plain mode: states already written
  int drawn_lines_ = 0;  // tty mode: lines currently on screen
  bool started_ = false, stopping_ = false, stopped_ = false;
  std::thread ticker_;
};

}  // namespace cli

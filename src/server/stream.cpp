#include "server/stream.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/connections.h"
#include "server/http.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread.h"

namespace server {
namespace {

struct Failure {
  int status = 500;
  std::string message;
};

// Runs the producer, converting its exception into a Failure.
std::optional<Failure> run_producer(const Producer& producer, StreamWriter& w) {
  try {
    producer(w);
  } catch (const std::exception& e) {
    ErrorReply r = error_reply(e);
    return Failure{r.status, r.message};
  }
  return std::nullopt;
}

// Producer and connection thread meet here.
struct Channel : StreamWriter {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> lines;
  bool done = false;
  bool started = false;  // first line handed to the client
  std::atomic<bool> gone{false};
  std::optional<Failure> failure;
  util::Thread worker;
  ClientWatch client;  // the connection being written to

  bool send(const json& obj) override { return send_frame(dump_json(obj) + "\n"); }
  bool send(const nlohmann::ordered_json& obj) override {
    return send_frame(obj.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                      "\n");
  }
  bool send_frame(std::string frame) override {
    if (cancelled()) return false;
    {
      std::lock_guard lk(mu);
      lines.push_back(std::move(frame));
    }
    cv.notify_all();
    return true;
  }
  bool cancelled() const override { return gone.load() || client.ended(); }
  std::stop_token cancel_token() const override { return client.end_token(); }

  void finish(std::optional<Failure> f) {
    {
      std::lock_guard lk(mu);
      failure = std::move(f);
      done = true;
    }
    cv.notify_all();
  }
  void join() {
    if (worker.joinable()) worker.join();
  }
};

// Collects objects for stream:false.
struct Collector : StreamWriter {
  Reducer reduce;
  std::optional<json> acc;
  ClientWatch client = current_client();
  bool send(const json& obj) override {
    if (!acc)
      acc = obj;
    else if (reduce)
      reduce(*acc, obj);
    else
      acc = obj;
    return !cancelled();
  }
  bool cancelled() const override { return client.ended(); }
  std::stop_token cancel_token() const override { return client.end_token(); }
};

}  // namespace

bool DirectWriter::send(const json& obj) { return send_frame(dump_json(obj) + "\n"); }

bool DirectWriter::send(const nlohmann::ordered_json& obj) {
  return send_frame(obj.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                    "\n");
}

bool DirectWriter::send_frame(std::string frame) {
  if (cancelled()) return false;
  if (!sink_) {
    held_ += frame;
    return true;
  }
  if (!sink_->write(frame.data(), frame.size())) gone_ = true;
  return !gone_;
}

bool DirectWriter::cancelled() const { return gone_ || client_.ended(); }

void respond_steps(httplib::Response& res, const Framing& framing, std::shared_ptr<DirectWriter> w,
                   std::function<bool()> start, std::function<std::function<bool()>()> open) {
  bool more = false;
  std::function<bool()> step;
  try {
    if (start()) {
      step = open();
      more = true;
      // Until the first frame the status is not committed: an error keeps its own.
      while (more && w->held_.empty()) more = step();
    }
  } catch (const std::exception& e) {
    ErrorReply r = error_reply(e);
    if (framing.early_error)
      framing.early_error(res, r.status, r.message);
    else
      write_error(res, r.status, r.message);
    return;
  }
  auto late_error = framing.late_error ? framing.late_error : [](int, const std::string& message) {
    return dump_json(json{{"error", message}}) + "\n";
  };
  res.status = 200;
  if (framing.content_type == "text/event-stream") res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      framing.content_type,
      [w, more, step = std::move(step), late_error](size_t, httplib::DataSink& sink) {
        w->sink_ = &sink;
        std::string held = std::move(w->held_);
        if (!held.empty() && !sink.write(held.data(), held.size())) {
          w->gone_ = true;
          w->sink_ = nullptr;
          return false;
        }
        if (more) {
          try {
            while (step()) {
            }
          } catch (const std::exception& e) {
            ErrorReply r = error_reply(e);
            if (!w->gone_) {
              const std::string frame = late_error(r.status, r.message);
              if (!sink.write(frame.data(), frame.size())) w->gone_ = true;
            }
          }
        }
        w->sink_ = nullptr;
        if (w->gone_) {
          LOG_DEBUG("stream ended early: client disconnected");
          return false;
        }
        sink.done();
        return true;
      });
}

void respond_stream(httplib::Response& res, bool stream, Producer producer, Reducer reduce) {
  if (!stream) {
    Collector c;
    c.reduce = std::move(reduce);
    if (auto f = run_producer(producer, c)) {
      write_error(res, f->status, f->message);
      return;
    }
    write_json(res, 200, c.acc ? *c.acc : json::object());
    return;
  }
  respond_frames(res, Framing{}, std::move(producer));
}

void respond_frames(httplib::Response& res, const Framing& framing, Producer producer) {
  auto late_error = framing.late_error ? framing.late_error : [](int, const std::string& message) {
    return dump_json(json{{"error", message}}) + "\n";
  };

  auto ch = std::make_shared<Channel>();
  ch->client = current_client();
  ch->worker = util::Thread(util::kRequestStackBytes, [ch, producer = std::move(producer)] {
    ch->finish(run_producer(producer, *ch));
  });

  // Wait for the first object (or the end): an early error still gets its own status.
  {
    std::unique_lock lk(ch->mu);
    ch->cv.wait(lk, [&] { return ch->done || !ch->lines.empty(); });
    if (ch->lines.empty() && ch->failure) {
      Failure f = *ch->failure;
      lk.unlock();
      ch->join();
      if (framing.early_error)
        framing.early_error(res, f.status, f.message);
      else
        write_error(res, f.status, f.message);
      return;
    }
  }

  res.status = 200;
  if (framing.content_type == "text/event-stream") res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      framing.content_type,
      [ch, late_error](size_t, httplib::DataSink& sink) {
        std::unique_lock lk(ch->mu);
        ch->cv.wait(lk, [&] { return ch->done || !ch->lines.empty(); });
        while (!ch->lines.empty()) {
          std::string line = std::move(ch->lines.front());
          ch->lines.pop_front();
          lk.unlock();
          if (!sink.write(line.data(), line.size())) {
            ch->gone = true;
            return false;
          }
          lk.lock();
        }
        if (ch->done) {
          if (ch->failure) {
            std::string line = late_error(ch->failure->status, ch->failure->message);
            ch->failure.reset();
            lk.unlock();
            if (!sink.write(line.data(), line.size())) {
              ch->gone = true;
              return false;
            }
          } else {
            lk.unlock();
          }
          sink.done();
        }
        return true;
      },
      [ch](bool success) {
        if (!success) {
          ch->gone = true;
          LOG_DEBUG("stream ended early: client disconnected");
        }
        ch->join();
      });
}

}  // namespace server

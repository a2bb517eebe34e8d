#include "server/http.h"

#include "api/decode.h"
#include "api/status.h"
#include "util/error.h"
#include "util/log.h"

namespace server {
namespace {

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

const std::string& RequestBody::text() {
  if (consumed_) return text_;
  consumed_ = true;
  if (preread_) {
    text_ = *preread_;
    finished_ = true;
    return text_;
  }
  if (!reader_) {
    finished_ = true;
    return text_;
  }
  bool too_big = false;
  bool ok = (*reader_)([&](const char* data, size_t n) {
    if (text_.size() + n > kMaxBufferedBody) {
      too_big = true;
      return false;
    }
    text_.append(data, n);
    return true;
  });
  if (too_big) {
    text_.clear();
    text_.shrink_to_fit();
    throw util::Error("request body too large", util::ErrorKind::kTooLarge);
  }
  finished_ = ok;
  return text_;
}

bool RequestBody::stream(const Chunk& fn) {
  if (consumed_) throw util::Error("request body already read", util::ErrorKind::kInternal);
  consumed_ = true;
  bool ok = true;
  if (preread_)
    ok = preread_->empty() || fn(preread_->data(), preread_->size());
  else if (reader_)
    ok = (*reader_)([&](const char* data, size_t n) { return fn(data, n); });
  finished_ = ok;
  return ok;
}

bool RequestBody::discard(size_t limit) {
  if (consumed_) return finished_;
  size_t seen = 0;
  return stream([&](const char*, size_t n) {
    seen += n;
    return seen <= limit;
  });
}

json Call::json_body() { return api::parse_body(body.text()); }

std::string Call::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json; charset=utf-8");
}

void write_error(httplib::Response& res, int status, std::string_view message) {
  write_json(res, status, json{{"error", std::string(message)}});
}

ErrorReply error_reply(const std::exception& e) {
  if (const auto* u = dynamic_cast<const util::Error*>(&e))
    return {api::http_status(u->kind()), u->what()};
  if (const auto* j = dynamic_cast<const nlohmann::json::exception*>(&e))
    return {400, api::json_error_text(*j)};
  if (dynamic_cast<const std::bad_alloc*>(&e)) return {500, "out of memory"};
  LOG_ERROR("request failed: {}", e.what());
  return {500, e.what()};
}

void run_guarded(httplib::Response& res, const std::function<void()>& fn) {
  run_guarded(res, fn, [](httplib::Response& out, int status, const std::string& message) {
    write_error(out, status, message);
  });
}

void run_guarded(httplib::Response& res, const std::function<void()>& fn,
                 const ErrorWriter& write) {
  try {
    fn();
  } catch (const std::exception& e) {
    ErrorReply r = error_reply(e);
    write(res, r.status, r.message);
  }
}

void Router::add(const std::string& method, const std::string& pattern, Handler h) {
  routes_.push_back(Route{method, pattern, split_path(pattern), std::move(h)});
}

bool Router::match(const Route& r, const std::vector<std::string>& path,
                   std::map<std::string, std::string>& params) {
  if (r.segments.size() != path.size()) return false;
  std::map<std::string, std::string> p;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto& seg = r.segments[i];
    if (!seg.empty() && seg[0] == ':') {
      p[seg.substr(1)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  params = std::move(p);
  return true;
}

void Router::dispatch(Call& call) const {
  // A trailing slash is a different path in gin (it redirects); treat "/api/tags/" as unknown.
  const std::string& raw = call.req.path;
  auto path = split_path(raw);
  bool trailing = raw.size() > 1 && raw.back() == '/';
  bool path_known = false;
  if (!trailing) {
    for (const auto& r : routes_) {
      std::map<std::string, std::string> params;
      if (!match(r, path, params)) continue;
      path_known = true;
      if (r.method != call.req.method) continue;
      call.params = std::move(params);
      call.route = r.pattern;
      run_guarded(call.res, [&] { r.handler(call); });
      return;
    }
  }
  if (path_known) {
    call.res.status = 405;
    call.res.set_content("405 method not allowed", "text/plain");
  } else {
    call.res.status = 404;
    call.res.set_content("404 page not found", "text/plain");
  }
}

}  // namespace server

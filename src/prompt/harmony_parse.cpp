// Streaming harmony parser (§11.3): generated text -> thinking, content, tool calls.
#include <array>
#include <cctype>

#include "prompt/harmony.h"
#include "util/error.h"
#include "util/json.h"

namespace prompt {
namespace {

constexpr std::string_view kStart = "<|start|>";
constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kConstrain = "<|constrain|>";
// Every marker that may show up inside a message body. The three ends close it; a start or
// channel there opens the next message (a model that skipped the end); a stray message or
// constrain marker is dropped. None of them is ever content.
constexpr std::array<std::string_view, 7> kBodyMarkers = {
    "<|end|>", "<|return|>", "<|call|>", kStart, kChannel, kMessage, kConstrain};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest suffix of `buf` that is a proper prefix of `marker`.
size_t partial_suffix(std::string_view buf, std::string_view marker) {
  for (size_t n = std::min(buf.size(), marker.size() - 1); n > 0; n--)
    if (buf.substr(buf.size() - n) == marker.substr(0, n)) return n;
  return 0;
}

struct Header {
  std::string channel, recipient;
};

// `ROLE [to=RECIPIENT]` with `<|channel|>NAME` anywhere and `<|constrain|>TYPE` after; a role
// of the form `to=X` is a tool call to X.
Header parse_header(std::string raw) {
  Header h;
  if (size_t c = raw.find(kConstrain); c != std::string::npos) raw.insert(c, " ");
  if (size_t c = raw.find(kChannel); c != std::string::npos) {
    size_t name = c + kChannel.size();
    size_t end = name;
    while (end < raw.size() && !is_space(raw[end])) end++;
    h.channel = raw.substr(name, end - name);
    raw = raw.substr(0, c) + raw.substr(end);
  }
  std::vector<std::string_view> words;
  std::string_view rest = trim(raw);
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && !is_space(rest[n])) n++;
    words.push_back(rest.substr(0, n));
    rest = trim(rest.substr(n));
  }
  if (words.empty()) return h;
  if (words[0].substr(0, 3) == "to=") {
    h.recipient = words[0].substr(3);
  } else if (words.size() > 1 && words[1].substr(0, 3) == "to=") {
    h.recipient = words[1].substr(3);
  }
  return h;
}

}  // namespace

HarmonyParser::HarmonyParser(HarmonyToolNames names, const Message* last)
    : names_(std::move(names)) {
  // The prompt ends with `<|start|>assistant` (the model writes the rest of the header), or
  // inside the final / analysis message of an assistant prefill.
  buf_ = "assistant";
  if (last && last->role == "assistant" && (!last->content.empty() || !last->thinking.empty())) {
    buf_.clear();
    state_ = State::kBody;
    route_ = last->content.empty() ? Route::kThinking : Route::kContent;
  }
}

void HarmonyParser::emit(std::string_view text, ParsedOutput* out) {
  if (text.empty()) return;
  switch (route_) {
    case Route::kContent:
      out->content += text;
      break;
    case Route::kThinking:
      out->thinking += text;
      break;
    case Route::kTool:
      tool_args_ += text;
      break;
  }
}

void HarmonyParser::open_body(std::string_view header) {
  Header h = parse_header(std::string(header));
  const bool to_tool = !h.recipient.empty();
  if (h.channel == "analysis") {
    route_ = to_tool ? Route::kTool : Route::kThinking;
  } else if (h.channel == "commentary") {
    route_ = to_tool ? Route::kTool : Route::kContent;
  } else if (h.channel == "final") {
    route_ = Route::kContent;
  }  // no (or an unknown) channel: the body goes where the last one went
  if (route_ == Route::kTool) {
    // Only one call is expected per turn (generation stops at <|call|>); a later one wins.
    tool_name_ = h.recipient;
    tool_args_.clear();
    has_tool_ = true;
  }
}

void HarmonyParser::run(ParsedOutput* out, bool at_end) {
  for (;;) {
    if (state_ == State::kBetween) {
      // Text between messages is not part of any message: dropped.
      size_t s = buf_.find(kStart);
      if (s == std::string::npos) {
        buf_.erase(0, buf_.size() - partial_suffix(buf_, kStart));
        if (at_end) buf_.clear();
        return;
      }
      buf_.erase(0, s + kStart.size());
      state_ = State::kHeader;
    } else if (state_ == State::kHeader) {
      size_t e = buf_.find(kMessage);
      if (e == std::string::npos) {
        if (at_end) buf_.clear();  // a header that never ended carries no output
        return;
      }
      open_body(std::string_view(buf_).substr(0, e));
      buf_.erase(0, e + kMessage.size());
      state_ = State::kBody;
    } else {
      size_t at = std::string::npos;
      std::string_view marker;
      for (std::string_view m : kBodyMarkers) {
        size_t p = buf_.find(m);
        if (p < at) at = p, marker = m;
      }
      if (at == std::string::npos) {
        // Hold back what may still become a marker; at the end it is dropped (a marker cut
        // short by the end of generation is not content either).
        size_t hold = 0;
        for (std::string_view m : kBodyMarkers) hold = std::max(hold, partial_suffix(buf_, m));
        emit(std::string_view(buf_).substr(0, buf_.size() - hold), out);
        buf_.erase(0, buf_.size() - hold);
        if (at_end) buf_.clear();
        return;
      }
      emit(std::string_view(buf_).substr(0, at), out);
      if (marker == kMessage || marker == kConstrain) {
        buf_.erase(0, at + marker.size());
        continue;
      }
      route_ = Route::kContent;  // the message ended (a tool call's body is kept)
      if (marker == kChannel) {
        buf_ = "assistant" + buf_.substr(at);  // the next header starts at the channel
        state_ = State::kHeader;
      } else {
        buf_.erase(0, at + marker.size());
        state_ = marker == kStart ? State::kHeader : State::kBetween;
      }
    }
  }
}

void HarmonyParser::add(std::string_view text, ParsedOutput* out) {
  buf_ += text;
  run(out, false);
}

void HarmonyParser::finish(ParsedOutput* out) {
  run(out, true);
  if (!has_tool_) return;
  has_tool_ = false;
  std::string name = tool_name_;
  if (name.rfind("functions.", 0) == 0) name.erase(0, 10);
  ToolCall call;
  call.name = names_.original(name);
  std::string error;
  try {
    call.arguments = util::parse_json<Json>(tool_args_);
    if (!call.arguments.is_object()) error = "arguments are not a JSON object";
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty())
    throw util::Error("error parsing tool call: raw='" + tool_args_ + "', err=" + error);
  out->tool_calls.push_back(std::move(call));
}

}  // namespace prompt

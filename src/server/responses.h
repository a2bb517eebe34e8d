// OpenAI's Responses API (§5.4), stateless: POST /v1/responses translated onto the typed chat
// request (gen_run.h); output items (reasoning, message, function_call) and the streamed
// response.* events (openai_responses.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/generate.h"

namespace server::openai {

struct ResponsesRequest {
  api::ChatRequest chat;  // model, messages, tools, tool_choice, options, think
  std::string format;     // text.format as a native format ("" none)
  bool stream = false;
  // What the response object echoes back.
  nlohmann::ordered_json instructions;                             // string or null
  nlohmann::ordered_json max_output_tokens;                        // integer or null
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();  // as the client sent them
  nlohmann::ordered_json tool_choice = "auto";
  nlohmann::ordered_json text_format = {{"type", "text"}};
  nlohmann::ordered_json reasoning_effort;  // string or null
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
  bool parallel_tool_calls = true;
  double temperature = 1.0, top_p = 1.0;
};

// Decodes a /v1/responses body: `input` as a string or items (messages with input_text /
// input_image / output_text parts, function_call, function_call_output, reasoning),
// `instructions` as the system message, function tools (others are left out, logged),
// tool_choice, temperature/top_p (1.0 when absent, as OpenAI), max_output_tokens,
// reasoning.effort, text.format. 400 for previous_response_id / conversation (nothing is
// stored), unknown item or part types, image URLs, wrong field types.
ResponsesRequest parse_responses_request(std::string_view body);

}  // namespace server::openai

// `ollama show`: one raw field with a flag, otherwise the sectioned summary (showInfo).
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/table.h"
#include "client/client.h"
#include "util/error.h"

namespace cli {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\v\f"), e = s.find_last_not_of(" \t\r\n\v\f");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> fields(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "  <Header>\n" then the table then a blank line.
void section(std::string& out, const std::string& header, const std::vector<TableRow>& rows,
             int col_width = 30) {
  out += "  " + header + "\n";
  out += render_table({}, rows, col_width);
  out += "\n";
}

// The first n non-empty trimmed lines, then "..." when there were more.
std::vector<TableRow> head(const std::string& s, int n) {
  std::vector<TableRow> rows;
  int count = 0;
  for (auto& line : lines_of(s)) {
    std::string t = trim(line);
    if (t.empty()) continue;
    if (++count <= n) rows.push_back({"", t});
  }
  if (count > n) rows.push_back({"", "..."});
  return rows;
}

// Metadata value as showInfo prints it: arrays shortened to ~10 columns "[a ...+N more]".
std::string metadata_value(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return go_format_g(v.get<double>());
  if (v.is_array()) {
    const int target = 10;
    int total = 1;
    size_t show = 0;
    for (size_t i = 0; i < v.size(); i++) {
      int w = display_width(go_format_v(v[i]));
      if (i > 0) w += 2;
      if (total + w > target && i > 0) break;
      total += w;
      show++;
    }
    if (show < v.size()) {
      std::string s = "[";
      for (size_t i = 0; i < show; i++) s += (i ? " " : "") + go_format_v(v[i]);
      return s + " ...+" + std::to_string(v.size() - show) + " more]";
    }
    return go_format_v(v);
  }
  if (v.is_object()) return "map[string]interface {}";
  return "<nil>";
}

const json* member(const json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string number_text(const json* v) {
  return v && v->is_number() ? go_format_f(v->get<double>()) : std::string();
}

}  // namespace

std::string format_show_info(const json& resp, bool verbose) {
  std::string out;
  json details = resp.value("details", json::object());
  const json* info = member(resp, "model_info");
  bool has_info = info && info->is_object();

  std::vector<TableRow> model;
  if (!str(resp, "remote_host").empty()) {
    model.push_back({"", "Remote model", str(resp, "remote_model")});
    model.push_back({"", "Remote URL", str(resp, "remote_host")});
  }
  if (has_info) {
    std::string arch = str(*info, "general.architecture");
    model.push_back({"", "architecture", arch});
    std::string params = str(details, "parameter_size");
    if (params.empty()) {
      if (const json* pc = member(*info, "general.parameter_count"); pc && pc->is_number())
        params = human_number(static_cast<uint64_t>(pc->get<double>()));
    }
    model.push_back({"", "parameters", params});
    if (const json* v = member(*info, arch + ".context_length"); v && v->is_number())
      model.push_back({"", "context length", number_text(v)});
    if (const json* v = member(*info, arch + ".embedding_length"); v && v->is_number())
      model.push_back({"", "embedding length", number_text(v)});
  } else {
    model.push_back({"", "architecture", str(details, "family")});
    model.push_back({"", "parameters", str(details, "parameter_size")});
  }
  model.push_back({"", "quantization", str(details, "quantization_level")});
  if (!str(resp, "requires").empty()) model.push_back({"", "requires", str(resp, "requires")});
  section(out, "Model", model);

  if (const json* caps = member(resp, "capabilities"); caps && caps->is_array() && !caps->empty()) {
    std::vector<TableRow> rows;
    for (auto& c : *caps) rows.push_back({"", c.is_string() ? c.get<std::string>() : c.dump()});
    section(out, "Capabilities", rows);
  }

  if (const json* proj = member(resp, "projector_info"); proj && proj->is_object()) {
    std::string arch = str(*proj, "general.architecture");
    std::vector<TableRow> rows;
    rows.push_back({"", "architecture", arch});
    const json* pc = member(*proj, "general.parameter_count");
    rows.push_back(
        {"", "parameters",
         pc && pc->is_number() ? human_number(static_cast<uint64_t>(pc->get<double>())) : ""});
    rows.push_back(
        {"", "embedding length", number_text(member(*proj, arch + ".vision.embedding_length"))});
    rows.push_back({"", "dimensions", number_text(member(*proj, arch + ".vision.projection_dim"))});
    section(out, "Projector", rows);
  }

  if (std::string params = str(resp, "parameters"); !params.empty()) {
    std::vector<TableRow> rows;
    for (auto& line : lines_of(params)) {
      if (line.empty()) continue;
      TableRow row{""};
      for (auto& f : fields(line)) row.push_back(f);
      rows.push_back(row);
    }
    section(out, "Parameters", rows);
  }

  if (has_info && verbose) {
    std::vector<TableRow> rows;
    for (auto& [k, v] : info->items()) rows.push_back({"", k, metadata_value(v)});  // sorted
    section(out, "Metadata", rows);
  }

  if (const json* tensors = member(resp, "tensors");
      verbose && tensors && tensors->is_array() && !tensors->empty()) {
    std::vector<TableRow> rows;
    for (auto& t : *tensors) {
      rows.push_back(
          {"", str(t, "name"), str(t, "type"), go_format_v(t.value("shape", json::array()))});
    }
    section(out, "Tensors", rows);
  }

  if (std::string s = str(resp, "system"); !s.empty()) section(out, "System", head(s, 2), 100);
  if (std::string s = str(resp, "license"); !s.empty()) section(out, "License", head(s, 2), 100);
  return out;
}

int cmd_show(const Invocation& inv) {
  static const char* kFields[] = {"license", "modelfile", "parameters", "system", "template"};
  int set = 0;
  std::string which;
  for (const char* f : kFields) {
    if (inv.flag(f)) {
      set++;
      which = f;
    }
  }
  if (set > 1) {
    throw util::Error(
        "only one of '--license', '--modelfile', '--parameters', '--system', or '--template' "
        "can be specified");
  }
  bool verbose = inv.flag("verbose");
  json req = {{"model", inv.args[0]}};
  if (verbose) req["verbose"] = true;
  json resp = client::Client::from_env().call("POST", "/api/show", req);
  if (!resp.is_object()) resp = json::object();
  if (set == 1) {
    std::string v = str(resp, which.c_str());
    // Ollama prints system and template as they are, the others with a newline.
    if (which == "system" || which == "template") {
      std::fputs(v.c_str(), stdout);
    } else {
      std::printf("%s\n", v.c_str());
    }
    return 0;
  }
  std::fputs(format_show_info(resp, verbose).c_str(), stdout);
  return 0;
}

}  // namespace cli

#include "cli/table.h"

#include <algorithm>
#include <climits>
#include <map>

#include "cli/format.h"

namespace cli {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::string pad_right(const std::string& s, int width) {
  int gap = width - display_width(s);
  return gap > 0 ? s + std::string(gap, ' ') : s;
}

// tablewriter.Title: '_' becomes a space, trimmed, upper-cased (headers here are ASCII).
std::string title(std::string h) {
  for (char& c : h)
    if (c == '_') c = ' ';
  size_t b = h.find_first_not_of(' '), e = h.find_last_not_of(' ');
  std::string t = b == std::string::npos ? std::string() : h.substr(b, e - b + 1);
  if (t.empty() && !h.empty()) t = " ";
  for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return t;
}

struct Layout {
  std::map<int, int> widths;  // column -> width

  // parseDimension: reflows the cell into one paragraph, wraps it, records the width.
  std::vector<std::string> cell(const std::string& text, int col, int max_w) {
    std::vector<std::string> raw = split(text, '\n');
    int width = 0;
    for (auto& l : raw) width = std::max(width, display_width(l));
    width = std::min(width, max_w);
    std::string para;
    for (size_t i = 0; i < raw.size(); i++) para += (i ? " " : "") + raw[i];
    std::vector<std::string> lines = wrap_words(para, width);
    for (auto& l : lines) width = std::max(width, display_width(l));
    auto it = widths.find(col);
    if (it == widths.end() || it->second < width) widths[col] = width;
    return lines;
  }
};

}  // namespace

std::vector<std::string> wrap_words(const std::string& text, int limit) {
  std::vector<std::string> words = split(text, ' ');
  for (auto& w : words) limit = std::max(limit, display_width(w));
  const int n = static_cast<int>(words.size());
  // length[i][j]: width of words i..j joined by single spaces.
  std::vector<std::vector<int>> length(n, std::vector<int>(n, 0));
  for (int i = 0; i < n; i++) {
    length[i][i] = display_width(words[i]);
    for (int j = i + 1; j < n; j++) length[i][j] = length[i][j - 1] + 1 + display_width(words[j]);
  }
  constexpr int kPenalty = 100000;  // for lines that overflow the limit
  std::vector<int> next_break(n, 0);
  std::vector<long long> cost(n, INT_MAX);
  for (int i = n - 1; i >= 0; i--) {
    if (length[i][n - 1] <= limit) {
      cost[i] = 0;
      next_break[i] = n;
      continue;
    }
    for (int j = i + 1; j < n; j++) {
      long long d = limit - length[i][j - 1];
      long long c = d * d + cost[j];
      if (length[i][j - 1] > limit) c += kPenalty;
      if (c < cost[i]) {
        cost[i] = c;
        next_break[i] = j;
      }
    }
  }
  std::vector<std::string> lines;
  for (int i = 0; i < n;) {
    std::string line;
    for (int k = i; k < next_break[i]; k++) line += (k > i ? " " : "") + words[k];
    lines.push_back(line);
    i = next_break[i];
  }
  return lines;
}

std::string render_table(const TableRow& header, const std::vector<TableRow>& rows,
                         int max_col_width) {
  Layout layout;
  std::vector<std::vector<std::string>> head_cells;
  for (size_t c = 0; c < header.size(); c++)
    head_cells.push_back(layout.cell(header[c], static_cast<int>(c), max_col_width));
  std::vector<std::vector<std::vector<std::string>>> cells(rows.size());
  for (size_t r = 0; r < rows.size(); r++)
    for (size_t c = 0; c < rows[r].size(); c++)
      cells[r].push_back(layout.cell(rows[r][c], static_cast<int>(c), max_col_width));

  int n_cols = layout.widths.empty() ? 0 : layout.widths.rbegin()->first + 1;
  std::string out;
  if (!header.empty()) {
    size_t height = 0;
    for (auto& h : head_cells) height = std::max(height, h.size());
    for (size_t x = 0; x < height; x++) {
      for (int y = 0; y < n_cols; y++) {
        std::string h;
        if (y < static_cast<int>(head_cells.size()) && x < head_cells[y].size())
          h = head_cells[y][x];
        out += pad_right(title(h), layout.widths[y]) + (y == n_cols - 1 ? " " : "    ");
      }
      out += "\n";
    }
  }
  for (auto& row : cells) {
    size_t height = 0;
    for (auto& c : row) height = std::max(height, c.size());
    // Short cells are filled with two spaces (tablewriter does this, so a zero-width column
    // shows as two spaces on continuation lines).
    for (auto& c : row)
      while (c.size() < height) c.push_back("  ");
    for (size_t x = 0; x < height; x++) {
      for (size_t y = 0; y < row.size(); y++)
        out += pad_right(row[y][x], layout.widths[static_cast<int>(y)]) + "    ";
      out += "\n";
    }
  }
  return out;
}

}  // namespace cli

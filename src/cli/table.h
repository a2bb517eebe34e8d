// Borderless text tables as Ollama's CLI prints them (tablewriter with 4-space padding).
#pragma once
#include <string>
#include <vector>

namespace cli {

using TableRow = std::vector<std::string>;

// Renders like tablewriter configured by Ollama (no borders, no header line, left aligned,
// NoWhiteSpace, padding "    "): each cell is padded to its column width and followed by the
// padding (so rows end in 4 spaces; the header's last cell is followed by one space). Cells
// wider than max_col_width are word-wrapped (minimum raggedness) onto continuation lines.
// An empty header prints no header row.
std::string render_table(const TableRow& header, const std::vector<TableRow>& rows,
                         int max_col_width = 30);

// tablewriter's WrapString: splits on spaces and wraps to `limit` columns, minimising the
// sum of squared trailing gaps; a word longer than the limit gets a line of its own.
std::vector<std::string> wrap_words(const std::string& text, int limit);

}  // namespace cli

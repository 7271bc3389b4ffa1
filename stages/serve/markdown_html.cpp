// A small markdown → HTML converter for the run report (see markdown_html.hpp). Block by
// block: fenced code, headings, rules, tables, list items and paragraphs; then inline
// spans in the text of each.
#include "markdown_html.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace nanochat::serve {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::string trim(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t");
  return start == std::string::npos ? "" : text.substr(start, text.find_last_not_of(" \t") - start + 1);
}

// "plot.svg", "base-model-training-loss.svg": no scheme, no folder, not hidden.
bool plain_file_name(const std::string& target) {
  return !target.empty() && target[0] != '.' && std::all_of(target.begin(), target.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool web_url(const std::string& target) {
  return (starts_with(target, "https://") || starts_with(target, "http://")) &&
         std::none_of(target.begin(), target.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::string inline_html(const std::string& text, const std::string& image_prefix);

// "[label](target)" or "![label](target)" at `at`: the HTML and where the span ends, or
// false when there is none. A target that is not allowed leaves the whole span as text.
bool link_at(const std::string& text, size_t at, const std::string& image_prefix, std::string& html, size_t& end) {
  const bool image = text[at] == '!';
  const size_t open = image ? at + 1 : at;
  if (open >= text.size() || text[open] != '[') return false;
  const size_t close = text.find(']', open);
  if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != '(') return false;
  const size_t paren = text.find(')', close + 2);
  if (paren == std::string::npos) return false;
  const std::string label = text.substr(open + 1, close - open - 1), target = text.substr(close + 2, paren - close - 2);
  if (image && plain_file_name(target)) {
    html = "<img src=\"" + escape_html(image_prefix + target) + "\" alt=\"" + escape_html(label) + "\">";
  } else if (!image && (web_url(target) || plain_file_name(target))) {
    html = "<a href=\"" + escape_html(target) + "\">" + inline_html(label, image_prefix) + "</a>";
  } else {
    html = escape_html(text.substr(at, paren + 1 - at));
  }
  end = paren + 1;
  return true;
}

std::string inline_html(const std::string& text, const std::string& image_prefix) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    size_t end = 0;
    std::string html;
    if (c == '`' && (end = text.find('`', i + 1)) != std::string::npos) {
      out += "<code>" + escape_html(text.substr(i + 1, end - i - 1)) + "</code>";
      i = end + 1;
    } else if (text.compare(i, 2, "**") == 0 && (end = text.find("**", i + 2)) != std::string::npos && end > i + 2) {
      out += "<strong>" + inline_html(text.substr(i + 2, end - i - 2), image_prefix) + "</strong>";
      i = end + 2;
    } else if ((c == '!' || c == '[') && link_at(text, i, image_prefix, html, end)) {
      out += html;
      i = end;
    } else {
      out += escape_html(std::string(1, c));
      ++i;
    }
  }
  return out;
}

std::vector<std::string> table_cells(const std::string& line) {
  std::string row = trim(line);
  if (starts_with(row, "|")) row.erase(0, 1);
  if (!row.empty() && row.back() == '|') row.pop_back();
  std::vector<std::string> cells;
  std::istringstream parts(row);
  for (std::string cell; std::getline(parts, cell, '|');) cells.push_back(trim(cell));
  return cells;
}

bool is_table_separator(const std::string& line) {
  const std::vector<std::string> cells = table_cells(line);
  return starts_with(trim(line), "|") && !cells.empty() && std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return c.find('-') != std::string::npos && c.find_first_not_of("-: ") == std::string::npos;
  });
}

// ":--:" centre, "--:" right, else left (the default, no class).
std::string alignment_class(const std::string& separator_cell) {
  const bool left = starts_with(separator_cell, ":"), right = !separator_cell.empty() && separator_cell.back() == ':';
  return left && right ? " class=\"c\"" : right ? " class=\"r\"" : "";
}

class Converter {
 public:
  explicit Converter(const std::string& image_prefix) : prefix_(image_prefix) {}

  std::string convert(const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      const std::string text = trim(line);
      if (starts_with(text, "```")) {
        i = code_block(lines, i);
      } else if (text.empty()) {
        end_blocks();
      } else if (size_t level = heading_level(text)) {
        end_blocks();
        out_ += "<h" + std::to_string(level) + ">" + inline_html(trim(text.substr(level)), prefix_) + "</h" + std::to_string(level) + ">\n";
      } else if (text.size() >= 3 && text.find_first_not_of('-') == std::string::npos) {
        end_blocks();
        out_ += "<hr>\n";
      } else if (starts_with(text, "|") && i + 1 < lines.size() && is_table_separator(lines[i + 1])) {
        i = table(lines, i);
      } else if (starts_with(text, "- ") || starts_with(text, "* ")) {
        flush_paragraph();
        list_item(static_cast<int>(line.find_first_not_of(' ') / 2), text.substr(2));
      } else {
        close_lists();
        paragraph_.push_back(text);
      }
    }
    end_blocks();
    return out_;
  }

 private:
  static size_t heading_level(const std::string& text) {
    const size_t hashes = text.find_first_not_of('#');
    return hashes >= 1 && hashes <= 6 && hashes < text.size() && text[hashes] == ' ' ? hashes : 0;
  }

  size_t code_block(const std::vector<std::string>& lines, size_t start) {
    end_blocks();
    out_ += "<pre><code>";
    size_t i = start + 1;
    for (; i < lines.size() && !starts_with(trim(lines[i]), "```"); ++i) out_ += escape_html(lines[i]) + "\n";
    out_ += "</code></pre>\n";
    return i;  // the closing fence (or the end)
  }

  size_t table(const std::vector<std::string>& lines, size_t start) {
    end_blocks();
    const std::vector<std::string> header = table_cells(lines[start]), separator = table_cells(lines[start + 1]);
    auto row = [&](const std::vector<std::string>& cells, const char* tag) {
      out_ += "<tr>";
      for (size_t c = 0; c < cells.size(); ++c) {
        const std::string align = c < separator.size() ? alignment_class(separator[c]) : "";
        out_ += std::string("<") + tag + align + ">" + inline_html(cells[c], prefix_) + "</" + tag + ">";
      }
      out_ += "</tr>\n";
    };
    out_ += "<table>\n<thead>";
    row(header, "th");
    out_ += "</thead>\n<tbody>\n";
    size_t i = start + 2;
    for (; i < lines.size() && starts_with(trim(lines[i]), "|"); ++i) row(table_cells(lines[i]), "td");
    out_ += "</tbody>\n</table>\n";
    return i - 1;
  }

  // Nested lists: an item indented two more spaces than the one before opens a list inside it.
  void list_item(int level, const std::string& text) {
    level = std::min(level, depth_);
    if (level == depth_) {
      out_ += "<ul>\n";
      ++depth_;
    } else {
      for (; depth_ > level + 1; --depth_) out_ += "</li></ul>\n";
      out_ += "</li>\n";
    }
    out_ += "<li>" + inline_html(text, prefix_);
  }

  void close_lists() {
    for (; depth_ > 0; --depth_) out_ += "</li></ul>\n";
  }

  void flush_paragraph() {
    if (paragraph_.empty()) return;
    std::string text;
    for (const std::string& line : paragraph_) text += (text.empty() ? "" : "\n") + line;
    out_ += "<p>" + inline_html(text, prefix_) + "</p>\n";
    paragraph_.clear();
  }

  void end_blocks() {
    flush_paragraph();
    close_lists();
  }

  const std::string& prefix_;
  std::string out_;
  std::vector<std::string> paragraph_;
  int depth_ = 0;  // open <ul> elements
};

}  // namespace

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string markdown_to_html(const std::string& markdown, const std::string& image_prefix) {
  std::vector<std::string> lines;
  std::istringstream in(markdown);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return Converter(image_prefix).convert(lines);
}

}  // namespace nanochat::serve

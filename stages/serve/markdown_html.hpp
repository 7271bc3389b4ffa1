// The markdown of report.md as HTML, for GET /report: headings, paragraphs, nested "- "
// lists, tables (with their column alignment), fenced code, rules, and inline code, bold,
// links and images. Every piece of text is HTML-escaped; a link must be http(s) or a plain
// file name and an image a plain file name (no scheme, no '/'), anything else stays text,
// so a report section cannot smuggle markup or script into the page.
#pragma once

#include <string>

namespace nanochat::serve {

// & < > " ' as entities.
std::string escape_html(const std::string& text);

// `image_prefix` goes before each image's file name ("report/" serves them from /report/).
std::string markdown_to_html(const std::string& markdown, const std::string& image_prefix);

}  // namespace nanochat::serve

// GET /report's markdown → HTML: the blocks report.md uses (headings, paragraphs, nested
// lists, aligned tables, code, rules, images), and that nothing in a section can become
// markup: text, code, attributes and link targets are escaped, unsafe targets stay text.
#include "markdown_html.hpp"

#include <gtest/gtest.h>

using nanochat::serve::escape_html;
using nanochat::serve::markdown_to_html;

namespace {

std::string html(const std::string& markdown) { return markdown_to_html(markdown, "report/"); }

}  // namespace

TEST(MarkdownHtml, EscapesEveryCharacterThatCouldBeMarkup) {
  EXPECT_EQ(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html("<script>alert(1)</script> & more"), "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>\n");
  EXPECT_EQ(html("## <b>Title</b>"), "<h2>&lt;b&gt;Title&lt;/b&gt;</h2>\n");
  EXPECT_EQ(html("- key: `<img src=x onerror=alert(1)>`"), "<ul>\n<li>key: <code>&lt;img src=x onerror=alert(1)&gt;</code></li></ul>\n");
  EXPECT_EQ(html("```\n<b>\n```"), "<pre><code>&lt;b&gt;\n</code></pre>\n");
  EXPECT_EQ(html("| a |\n|---|\n| <i>x</i> |"), "<table>\n<thead><tr><th>a</th></tr>\n</thead>\n<tbody>\n<tr><td>&lt;i&gt;x&lt;/i&gt;</td></tr>\n</tbody>\n</table>\n");
}

TEST(MarkdownHtml, ImagesAndLinksOnlyToSafeTargets) {
  EXPECT_EQ(html("![loss](pretrain-loss.svg)"), "<p><img src=\"report/pretrain-loss.svg\" alt=\"loss\"></p>\n");
  EXPECT_EQ(html("![a\" onload=\"x](p.svg)"), "<p><img src=\"report/p.svg\" alt=\"a&quot; onload=&quot;x\"></p>\n");
  EXPECT_EQ(html("![x](../../etc/passwd)"), "<p>![x](../../etc/passwd)</p>\n");
  EXPECT_EQ(html("![x](http://evil/x.svg)"), "<p>![x](http://evil/x.svg)</p>\n") << "no image from elsewhere";
  EXPECT_EQ(html("[nanochat](https://github.com/karpathy/nanochat)"),
            "<p><a href=\"https://github.com/karpathy/nanochat\">nanochat</a></p>\n");
  EXPECT_EQ(html("[x](javascript:alert(1))"), "<p>[x](javascript:alert(1))</p>\n");
}

TEST(MarkdownHtml, TheBlocksOfAReport) {
  EXPECT_EQ(html("# nanochat training report\n\nGenerated: 2026-12-01\n\n---\n\n## Tokenizer\ntimestamp: x\n\n- plugin: **bpe**\n"
                 "- trained on: 2 documents\n  - `a`: 1\n  - `b`: 1\n- saved\n\ntext\nmore text\n"),
            "<h1>nanochat training report</h1>\n<p>Generated: 2026-12-01</p>\n<hr>\n<h2>Tokenizer</h2>\n<p>timestamp: x</p>\n"
            "<ul>\n<li>plugin: <strong>bpe</strong></li>\n<li>trained on: 2 documents<ul>\n<li><code>a</code>: 1</li>\n"
            "<li><code>b</code>: 1</li></ul>\n</li>\n<li>saved</li></ul>\n<p>text\nmore text</p>\n");
  EXPECT_EQ(html("| corpus | bytes | mid |\n|---|---:|:-:|\n| `x` | 12 | y |\n\nafter"),
            "<table>\n<thead><tr><th>corpus</th><th class=\"r\">bytes</th><th class=\"c\">mid</th></tr>\n</thead>\n<tbody>\n"
            "<tr><td><code>x</code></td><td class=\"r\">12</td><td class=\"c\">y</td></tr>\n</tbody>\n</table>\n<p>after</p>\n");
  EXPECT_EQ(html("Total wall clock time: 3h51m\r\n"), "<p>Total wall clock time: 3h51m</p>\n");
  EXPECT_EQ(html("unclosed `code and **bold"), "<p>unclosed `code and **bold</p>\n");
}

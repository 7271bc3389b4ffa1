// The SDK's SVG line charts: nice ticks and their labels, and documents that are
// well-formed XML with every series, the legend, escaped text and "no data" when empty.
#include "nanochat/svg_plot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nanochat/error.hpp"

using nanochat::LineChart;
using nanochat::PlotSeries;

namespace {

// Well-formed for what the writer emits: tags nest and close, attribute values are quoted,
// and every '&' in text or attributes starts an entity.
::testing::AssertionResult well_formed_xml(const std::string& xml) {
  std::vector<std::string> open;
  for (size_t i = 0; i < xml.size(); ++i) {
    if (xml[i] == '&') {
      const size_t semicolon = xml.find(';', i);
      const std::string entity = xml.substr(i, semicolon == std::string::npos ? 1 : semicolon - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;") {
        return ::testing::AssertionFailure() << "bad entity at " << i << ": " << entity;
      }
    }
    if (xml[i] != '<') continue;
    size_t end = i + 1;
    for (bool quoted = false; end < xml.size() && (quoted || xml[end] != '>'); ++end) {
      if (xml[end] == '"') quoted = !quoted;
      if (!quoted && xml[end] == '<') return ::testing::AssertionFailure() << "'<' inside a tag at " << end;
    }
    if (end == xml.size()) return ::testing::AssertionFailure() << "unclosed tag at " << i;
    const std::string tag = xml.substr(i + 1, end - i - 1);
    const std::string name = tag.substr(tag[0] == '/' ? 1 : 0, tag.find_first_of(" />", 1) - (tag[0] == '/' ? 1 : 0));
    if (tag[0] == '/') {
      if (open.empty() || open.back() != name) return ::testing::AssertionFailure() << "</" << name << "> closes nothing open";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(name);
    }
    i = end;
  }
  if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> is never closed";
  return ::testing::AssertionSuccess();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(SvgPlot, NiceTicksCoverTheRangeAtRoundSpacings) {
  EXPECT_EQ(nanochat::nice_ticks(0, 150), (std::vector<double>{0, 50, 100, 150}));
  EXPECT_EQ(nanochat::nice_ticks(3.2, 9.1), (std::vector<double>{3, 4, 5, 6, 7, 8, 9, 10}));
  const std::vector<double> small = nanochat::nice_ticks(0.81, 0.93);
  EXPECT_NEAR(small.front(), 0.80, 1e-12);
  EXPECT_NEAR(small.back(), 0.94, 1e-12);
  EXPECT_NEAR(small[1] - small[0], 0.02, 1e-12);
  EXPECT_THROW(nanochat::nice_ticks(1, 1), nanochat::Error);
  EXPECT_THROW(nanochat::nice_ticks(0, std::numeric_limits<double>::infinity()), nanochat::Error);
}

TEST(SvgPlot, TickLabelsShowWhatTheSpacingNeeds) {
  EXPECT_EQ(nanochat::format_tick(50, 50), "50");
  EXPECT_EQ(nanochat::format_tick(0.2, 0.2), "0.2");
  EXPECT_EQ(nanochat::format_tick(0.94, 0.02), "0.94");
  EXPECT_EQ(nanochat::format_tick(1e-17, 0.1), "0.0") << "no -0.0 or 1e-17 from rounding";
  EXPECT_EQ(nanochat::format_tick(12000, 2000), "12k");
  EXPECT_EQ(nanochat::format_tick(1500, 500), "1500");
  EXPECT_EQ(nanochat::format_tick(2.5e6, 5e5), "2500k");
  EXPECT_EQ(nanochat::format_tick(4e6, 1e6), "4M");
}

TEST(SvgPlot, ChartIsWellFormedWithEverySeriesAndALegend) {
  LineChart chart;
  chart.title = "loss <pretrain> & \"friends\"";
  chart.x_label = "step";
  chart.y_label = "loss";
  PlotSeries raw{"train loss", {}}, smooth{"smoothed", {}};
  for (int step = 0; step < 100; ++step) {
    raw.points.emplace_back(step, 10.0 / (1 + step) + 0.1 * (step % 3));
    smooth.points.emplace_back(step, 10.0 / (1 + step));
  }
  raw.points.emplace_back(100, std::nan(""));  // left out, not drawn at NaN
  chart.series = {raw, smooth, PlotSeries{"val bpb", {{0, 3.5}, {50, 2.0}, {100, 1.5}}}};
  const std::string svg = nanochat::render_line_chart_svg(chart);
  EXPECT_TRUE(well_formed_xml(svg));
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  EXPECT_NE(svg.find("data-name=\"train loss\""), std::string::npos);
  EXPECT_NE(svg.find(">val bpb</text>"), std::string::npos) << "legend entry";
  EXPECT_NE(svg.find("loss &lt;pretrain&gt; &amp; &quot;friends&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 3u) << "dots only on the short series";
}

TEST(SvgPlot, OneSeriesHasNoLegendAndOnePointStillDraws) {
  LineChart chart;
  chart.title = "reward";
  chart.series = {PlotSeries{"reward", {{7, 0.25}}}};
  const std::string svg = nanochat::render_line_chart_svg(chart);
  EXPECT_TRUE(well_formed_xml(svg));
  EXPECT_EQ(count(svg, "<circle"), 1u);
  EXPECT_EQ(svg.find(">reward</text>", svg.find("</g>")), std::string::npos) << "no legend for one series";
}

TEST(SvgPlot, NothingFiniteSaysNoData) {
  LineChart chart;
  chart.title = "empty";
  chart.series = {PlotSeries{"a", {{std::nan(""), 1.0}}}, PlotSeries{"b", {}}};
  const std::string svg = nanochat::render_line_chart_svg(chart);
  EXPECT_TRUE(well_formed_xml(svg));
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);
}

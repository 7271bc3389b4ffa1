// Line charts as standalone SVG documents, torch-free: the run report's plots (training
// loss, val bpb, tokens/s, RL reward) are written beside report.md and embedded in it, and
// any browser or markdown viewer shows them without a plotting library.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace nanochat {

struct PlotSeries {
  std::string name;                                // the legend's text
  std::vector<std::pair<double, double>> points;  // (x, y) in drawing order; non-finite ones are left out
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;  // colours follow this order
  int width = 480;                 // pixels
  int height = 300;
};

// The whole document: axes with ticks and grid lines, one polyline per series (with dots
// where a series has few points, so that three evaluations still show), a legend row under
// the title when there is more than one series, and "no data" when nothing is finite. Text
// is XML-escaped.
std::string render_line_chart_svg(const LineChart& chart);

// Tick values at a "nice" spacing (1, 2 or 5 × 10^k) from a multiple of it at or below
// `low` to one at or above `high`, about `count` intervals. Needs low < high.
std::vector<double> nice_ticks(double low, double high, int count = 5);

// A tick's text for ticks `spacing` apart: as many decimals as the spacing needs, and
// thousands as "k" (12k, 1.5k) or millions as "M" when the spacing is that large.
std::string format_tick(double value, double spacing);

}  // namespace nanochat

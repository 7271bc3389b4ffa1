// SVG line charts (see svg_plot.hpp): data ranges → nice ticks → pixel coordinates.
#include "nanochat/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <utility>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

// matplotlib's tab10, the colours readers know from nanochat's plots.
constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kDotsUpTo = 40;  // series with at most this many points get a dot per point
constexpr double kLeft = 64, kRight = 16, kTop = 30, kLegendRow = 16, kBottom = 44;

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  bool empty() const { return low > high; }
  void add(double v) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  // A range of one value is widened so that it still has ticks around it.
  Range widened() const {
    if (low < high) return *this;
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    return {low - pad, high + pad};
  }
};

// Maps data coordinates to the plot area's pixels.
struct Frame {
  double x0, x1, y0, y1;                  // data domain (the outer ticks)
  double left, right, top, bottom;        // pixels
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (right - left); }
  double py(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
};

std::string text_element(double x, double y, const std::string& anchor, const std::string& text, const std::string& extra = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\"{}>{}</text>\n", x, y, anchor, extra, escape_xml(text));
}

std::string axes(const LineChart& chart, const Frame& f, const std::vector<double>& xticks, const std::vector<double>& yticks) {
  std::string out;
  const double x_spacing = xticks[1] - xticks[0], y_spacing = yticks[1] - yticks[0];
  for (double y : yticks) {
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>\n", f.left, f.py(y),
                       f.right, f.py(y));
    out += text_element(f.left - 6, f.py(y) + 4, "end", format_tick(y, y_spacing));
  }
  for (double x : xticks) {
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\"/>\n", f.px(x), f.bottom,
                       f.px(x), f.bottom + 4);
    out += text_element(f.px(x), f.bottom + 16, "middle", format_tick(x, x_spacing));
  }
  out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#999\"/>\n", f.left,
                     f.top, f.right - f.left, f.bottom - f.top);
  out += text_element((f.left + f.right) / 2, f.bottom + 34, "middle", chart.x_label);
  out += text_element(14, (f.top + f.bottom) / 2, "middle", chart.y_label,
                      fmt::format(" transform=\"rotate(-90 14 {:.1f})\"", (f.top + f.bottom) / 2));
  return out;
}

std::string series_element(const PlotSeries& series, const char* colour, const Frame& f) {
  std::string points, dots;
  size_t finite = 0;
  for (const auto& [x, y] : series.points) finite += std::isfinite(x) && std::isfinite(y);
  for (const auto& [x, y] : series.points) {
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", f.px(x), f.py(y));
    if (finite <= kDotsUpTo) dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", f.px(x), f.py(y), colour);
  }
  return fmt::format("<g class=\"series\" data-name=\"{}\">\n<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n{}</g>\n",
                     escape_xml(series.name), colour, points, dots);
}

// One row between the title and the plot area, so that it never hides a line.
std::string legend(const std::vector<PlotSeries>& series, const Frame& f) {
  std::string out;
  double x = f.left;
  const double y = f.top - 8;
  for (size_t i = 0; i < series.size(); ++i) {
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n", x, y - 4,
                       x + 18, y - 4, kColours[i % std::size(kColours)]);
    out += text_element(x + 22, y, "start", series[i].name);
    x += 40 + 6.0 * static_cast<double>(series[i].name.size());  // about the text's width at 11px
  }
  return out;
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int count) {
  if (!(low < high) || !std::isfinite(low) || !std::isfinite(high) || count < 1) {
    throw Error(fmt::format("nice_ticks: need a finite range low < high, got [{}, {}]", low, high));
  }
  const double raw = (high - low) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double spacing = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const double first = std::floor(low / spacing + 1e-9), last = std::ceil(high / spacing - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) ticks.push_back(k * spacing);
  return ticks;
}

std::string format_tick(double value, double spacing) {
  if (std::abs(value) < spacing * 1e-6) value = 0;  // no "-0.0" from rounding
  const char* suffix = "";
  for (const auto& [scale, name] : {std::pair<double, const char*>{1e6, "M"}, {1e3, "k"}}) {
    if (spacing < scale) continue;
    value /= scale;
    spacing /= scale;
    suffix = name;
    break;
  }
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(spacing) - 1e-9)));
  return fmt::format("{:.{}f}{}", value, decimals, suffix);
}

std::string render_line_chart_svg(const LineChart& chart) {
  const double width = chart.width, height = chart.height;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      chart.width, chart.height);
  out += text_element(width / 2, 18, "middle", chart.title, " font-size=\"13\" font-weight=\"bold\"");
  Range xs, ys;
  for (const PlotSeries& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xs.add(x);
      ys.add(y);
    }
  }
  if (xs.empty()) return out + text_element(width / 2, height / 2, "middle", "no data") + "</svg>\n";
  const Range xr = xs.widened(), yr = ys.widened();
  const std::vector<double> xticks = nice_ticks(xr.low, xr.high), yticks = nice_ticks(yr.low, yr.high);
  const bool with_legend = chart.series.size() > 1;
  const Frame frame{xticks.front(), xticks.back(), yticks.front(), yticks.back(),
                    kLeft, width - kRight, kTop + (with_legend ? kLegendRow : 0), height - kBottom};
  out += axes(chart, frame, xticks, yticks);
  for (size_t i = 0; i < chart.series.size(); ++i) out += series_element(chart.series[i], kColours[i % std::size(kColours)], frame);
  if (with_legend) out += legend(chart.series, frame);
  return out + "</svg>\n";
}

}  // namespace nanochat

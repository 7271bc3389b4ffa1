// Metrics files to charts (see report_plots.hpp).
#include "report_plots.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nanochat/log.hpp"

namespace nanochat::report {
namespace {

// The fields of a step line that are plotted (the rest, such as lrm and mfu, are not).
constexpr const char* kStepFields[] = {"loss", "smooth_loss", "tok_per_sec", "reward"};

void add_point(std::vector<std::pair<double, double>>& points, double step, double value) {
  // a run that starts again at `step` replaces what an earlier run logged from there on
  while (!points.empty() && points.back().first >= step) points.pop_back();
  points.emplace_back(step, value);
}

std::string readable(std::string name) {
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

std::string file_part(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return name;
}

Plot plot(const std::string& slug, const std::string& title, const std::string& what, const std::string& y_label,
          std::vector<PlotSeries> series) {
  Plot p;
  p.file = slug + "-" + file_part(what) + ".svg";
  p.caption = title + ": " + what;
  p.chart.title = p.caption;
  p.chart.x_label = "step";
  p.chart.y_label = y_label;
  p.chart.series = std::move(series);
  return p;
}

}  // namespace

MetricSeries read_metrics_file(const std::filesystem::path& file) {
  MetricSeries series;
  std::ifstream in(file);
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      log::warn("report: {}:{}: not a metrics line (a JSON object with a numeric \"step\"); skipped", file.string(), number);
      continue;
    }
    const double step = j["step"].get<double>();
    for (const char* field : kStepFields) {
      if (j.contains(field) && j[field].is_number()) add_point(series[field], step, j[field].get<double>());
    }
    if (j.contains("eval") && j["eval"].is_object()) {
      for (const auto& [name, value] : j["eval"].items()) {
        if (value.is_number()) add_point(series["eval/" + name], step, value.get<double>());
      }
    }
  }
  return series;
}

std::vector<Plot> section_plots(const std::string& slug, const std::string& title, const MetricSeries& metrics) {
  auto points = [&](const std::string& field) {
    auto it = metrics.find(field);
    return it == metrics.end() ? std::vector<std::pair<double, double>>{} : it->second;
  };
  std::vector<Plot> plots;
  std::vector<PlotSeries> loss;
  if (!points("loss").empty()) loss.push_back({"train loss", points("loss")});
  if (!points("smooth_loss").empty()) loss.push_back({"smoothed (EMA 0.9)", points("smooth_loss")});
  if (!loss.empty()) plots.push_back(plot(slug, title, "training loss", "loss (nats/token)", std::move(loss)));
  for (const auto& [field, values] : metrics) {
    if (field.rfind("eval/", 0) != 0 || values.empty()) continue;
    const std::string name = readable(field.substr(5));
    plots.push_back(plot(slug, title, name, name, {{name, values}}));
  }
  if (!points("tok_per_sec").empty()) {
    plots.push_back(plot(slug, title, "tokens per second", "tokens/s (all ranks)", {{"tokens/s", points("tok_per_sec")}}));
  }
  if (!points("reward").empty()) plots.push_back(plot(slug, title, "reward", "mean reward", {{"reward", points("reward")}}));
  return plots;
}

}  // namespace nanochat::report

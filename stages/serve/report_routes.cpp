// GET /report and its plots (see report_routes.hpp).
#include "report_routes.hpp"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "markdown_html.hpp"

namespace fs = std::filesystem;

namespace nanochat::serve {
namespace {

// The page loads only its own plots and inline styles: no script, whatever report.md holds.
constexpr const char* kPagePolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";
constexpr const char* kPlotPolicy = "default-src 'none'; style-src 'unsafe-inline'";

constexpr const char* kPageStyle = R"(
  body { max-width: 60rem; margin: 0 auto; padding: 1rem; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; }
  nav { margin-bottom: 1rem; }
  a { color: #2a5bd7; }
  table { border-collapse: collapse; margin: .75rem 0; }
  th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
  th.r, td.r { text-align: right; } th.c, td.c { text-align: center; }
  code, pre { background: #f4f4f4; border-radius: .25rem; }
  code { padding: 0 .2rem; } pre { padding: .6rem; overflow-x: auto; }
  img { max-width: 100%; margin: .25rem .25rem 0 0; border: 1px solid #eee; }
  h2 { border-bottom: 1px solid #e4e4e4; padding-bottom: .2rem; margin-top: 2rem; }
)";

bool read_file(const fs::path& file, std::string& text) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream content;
  content << in.rdbuf();
  text = content.str();
  return true;
}

void not_found(httplib::Response& response, const std::string& message) {
  response.status = 404;
  response.set_content(message + "\n", "text/plain; charset=utf-8");
}

}  // namespace

void add_report_routes(httplib::Server& server, const fs::path& report_dir) {
  server.Get("/report", [report_dir](const httplib::Request&, httplib::Response& response) {
    std::string markdown;
    if (!read_file(report_dir / "report.md", markdown)) {
      return not_found(response, "no report yet: run `nanochat run report` (it writes $NANOCHAT_BASE_DIR/report/report.md), then reload");
    }
    response.set_header("Content-Security-Policy", kPagePolicy);
    response.set_content(std::string("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n") +
                             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
                             "<title>nanochat report</title>\n<style>" + kPageStyle + "</style>\n</head>\n<body>\n" +
                             "<nav><a href=\"./\">&larr; chat</a></nav>\n" + markdown_to_html(markdown, "report/") +
                             "</body>\n</html>\n",
                         "text/html; charset=utf-8");
  });
  server.Get(R"(/report/([A-Za-z0-9_-]+\.svg))", [report_dir](const httplib::Request& request, httplib::Response& response) {
    const std::string name = request.matches[1];
    std::string svg;
    if (!read_file(report_dir / name, svg)) return not_found(response, "no plot " + name + " in the report: run `nanochat run report`");
    response.set_header("Content-Security-Policy", kPlotPolicy);
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_content(svg, "image/svg+xml");
  });
}

}  // namespace nanochat::serve

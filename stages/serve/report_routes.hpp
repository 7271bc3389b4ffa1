// The run report in the browser: GET /report renders report/report.md (written by
// `nanochat run report`) as a page, GET /report/<name>.svg serves its plots. Both read the
// files at each request, so a report made while the server runs shows up on reload.
#pragma once

#include <filesystem>

namespace httplib {
class Server;
}  // namespace httplib

namespace nanochat::serve {

// Plot names are letters, digits, '-' and '_' with ".svg": never a path, so no request can
// read outside `report_dir`. Missing files are a 404 saying what to run.
void add_report_routes(httplib::Server& server, const std::filesystem::path& report_dir);

}  // namespace nanochat::serve

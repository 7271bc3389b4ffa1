// The report's header, nanochat's header.md: when and where the run happened (git, hardware,
// hourly price, software versions, code size), written by `nanochat run report --reset`
// before the first stage with a "Run started:" line, which the total wall-clock time counts from.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "hardware.hpp"
#include "source_tree.hpp"

namespace nanochat::report {

struct HeaderInputs {
  std::time_t generated = 0;
  GitInfo git;
  Hardware hardware;
  std::optional<CodeSize> code_size;  // nullopt: the source tree is not here
  std::string source_dir;             // named when the code size is unknown
};

// "# nanochat training report", "Generated:", "## Environment" with Git Information,
// Hardware, Software and Bloat, ending with a blank line (reset appends "Run started:").
std::string header_markdown(const HeaderInputs& inputs);

// What the report takes back from a header.md.
struct HeaderFacts {
  std::optional<std::time_t> run_started;  // "Run started:"
  std::string bloat;                       // the "### Bloat" lines, for the Summary
  std::optional<double> hourly_rate;       // "- Hourly Rate: $X/hour"
};
HeaderFacts parse_header(const std::string& markdown);

}  // namespace nanochat::report

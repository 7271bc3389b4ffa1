// The report section "Base model loss" (nanochat's base_loss.py logs bits per byte and the
// samples together): written from whichever of eval/base-bpb.json and eval/base-sample.json
// exist, so running the two kinds in either order gives the whole section.
#pragma once

#include <filesystem>

namespace nanochat::eval {

void write_base_loss_report(const std::filesystem::path& base_dir);

}  // namespace nanochat::eval

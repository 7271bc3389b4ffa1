// The machine's facts (see hardware.hpp).
#include "hardware.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "nanochat/cpu_info.hpp"
#include "nanochat/subprocess.hpp"

namespace nanochat::report {
namespace {

std::string trim(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  return text.substr(start, text.find_last_not_of(" \t\r\n") - start + 1);
}

// Distinct (physical id, core id) pairs of /proc/cpuinfo; 0 when it does not list them.
unsigned physical_cores() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string package;
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "physical id") package = value;
    if (key == "core id") cores.insert({package, value});
  }
  return static_cast<unsigned>(cores.size());
}

}  // namespace

std::vector<Gpu> parse_nvidia_smi(const std::string& csv, std::string* driver) {
  std::vector<Gpu> gpus;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(trim(cell));
    if (fields.size() != 3 || fields[0].empty()) continue;
    try {
      gpus.push_back({fields[0], std::stod(fields[1]) / 1024.0});
    } catch (const std::exception&) {
      continue;  // "[N/A]" memory: not a GPU we can describe
    }
    if (driver) *driver = fields[2];
  }
  return gpus;
}

double hourly_rate(const std::vector<Gpu>& gpus) {
  if (gpus.empty()) return 0;
  const std::pair<const char*, double> rates[] = {{"H100", 3.00}, {"A100", 1.79}, {"V100", 0.55}};
  double per_gpu = 2.00;
  for (const auto& [type, rate] : rates) {
    if (gpus.front().name.find(type) != std::string::npos) {
      per_gpu = rate;
      break;
    }
  }
  return per_gpu * static_cast<double>(gpus.size());
}

Hardware read_hardware() {
  Hardware h;
  utsname u{};
  if (uname(&u) == 0) h.platform = std::string(u.sysname) + " " + u.release + " (" + u.machine + ")";
  h.cpu_model = this_cpu().model;
  h.logical_cpus = std::thread::hardware_concurrency();
  h.physical_cores = physical_cores();
  if (h.physical_cores == 0) h.physical_cores = h.logical_cpus;
  h.memory_gb = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)) / (1024.0 * 1024 * 1024);
  if (auto csv = process_output({"nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"})) {
    h.gpus = parse_nvidia_smi(*csv, &h.gpu_driver);
  }
  return h;
}

}  // namespace nanochat::report

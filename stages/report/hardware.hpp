// What the run's machine is, for the report's header: the CPU (/proc/cpuinfo), memory,
// the GPUs as nvidia-smi lists them (torch-free: the report never loads LibTorch), and
// nanochat's hourly price estimate for them.
#pragma once

#include <string>
#include <vector>

namespace nanochat::report {

struct Gpu {
  std::string name;       // "NVIDIA H100 80GB HBM3"
  double memory_gb = 0;   // GiB
};

struct Hardware {
  std::string platform;       // "Linux 6.1.0 (x86_64)"
  std::string cpu_model;
  unsigned physical_cores = 0;
  unsigned logical_cpus = 0;
  double memory_gb = 0;       // GiB
  std::vector<Gpu> gpus;      // empty: none, or no nvidia-smi
  std::string gpu_driver;     // "" when there are no GPUs
};

Hardware read_hardware();

// nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits,
// one GPU per line. Lines that do not parse are left out.
std::vector<Gpu> parse_nvidia_smi(const std::string& csv, std::string* driver = nullptr);

// Dollars per hour for all the GPUs, at nanochat's rates (report.py, from Lambda Cloud):
// H100 $3.00, A100 $1.79, V100 $0.55 per GPU, any other GPU $2.00; 0 without GPUs.
double hourly_rate(const std::vector<Gpu>& gpus);

}  // namespace nanochat::report

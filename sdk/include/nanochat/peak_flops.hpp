// The FLOP/s a device can do, for MFU: a table of dense bf16 peaks for known GPUs (what
// nanochat uses: H100 989 TFLOP/s), and on a CPU a measured matmul peak in the dtype used,
// measured once per machine and kept in the machine cache (machine_facts.hpp).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

#include "nanochat/gpu_table.hpp"

namespace nanochat {

struct PeakFlops {
  double flops = 0.0;    // per second
  std::string source;    // "table: NVIDIA H100 80GB HBM3" or "measured: 1024² Float matmul, 2 threads"
};

// For a CUDA device: the table (falls back to a measurement for an unknown GPU).
// For the CPU: the best rate of square matmuls (up to 2048²) in `dtype` at the current
// thread count, from the machine cache; measured in at most about 0.6 s when it has no entry.
// `observed_flops`: a rate the caller has just seen this device do. A cached CPU peak below it
// was measured while the machine was busy: it is measured again, and the answer is never
// below what was observed.
PeakFlops peak_flops(c10::Device device, c10::ScalarType dtype, double observed_flops = 0.0);

// bf16 on a CPU without AVX512_BF16 or AMX: converted to fp32 around every matmul, so slower
// than fp32 itself. Warns once per process with the measured bf16 ÷ fp32 matmul rate.
void warn_if_bf16_is_emulated(c10::Device device, c10::ScalarType dtype);

}  // namespace nanochat

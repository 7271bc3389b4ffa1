// Data parallelism through LibTorch's c10d: rendezvous from the standard environment
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT — what torchrun, srun wrappers
// and `nanochat launch` set), Gloo on CPU and NCCL on CUDA, and the few collectives the
// optimizers and the training loop need. A world of one has no backend at all.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace nanochat {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  // Reads the environment; throws Error for inconsistent or malformed values.
  static DistEnv from_environment();
};

class Distributed {
 public:
  // Joins the process group (Gloo for a CPU device, NCCL for CUDA). World size 1: no-op.
  static std::shared_ptr<Distributed> init(const DistEnv& env, c10::Device device);
  ~Distributed();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  bool is_distributed() const { return env_.world_size > 1; }
  bool is_main() const { return env_.rank == 0; }

  // In place, across ranks. Synchronous: returns when the result is in `tensor`.
  void all_reduce_sum(at::Tensor& tensor);
  void all_reduce_avg(at::Tensor& tensor);
  void all_reduce_max(at::Tensor& tensor);
  // output (size input/world on dim 0) = this rank's slice of the average of every rank's input.
  void reduce_scatter_avg(at::Tensor& output, at::Tensor& input);
  // output (world × input on dim 0) = every rank's input, in rank order.
  void all_gather(at::Tensor& output, at::Tensor& input);
  void broadcast(at::Tensor& tensor, int root);
  void barrier();

 private:
  explicit Distributed(const DistEnv& env);
  struct Impl;
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanochat

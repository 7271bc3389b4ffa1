// c10d process groups behind a small interface. Gloo has no AVG reduction, so averages
// are sums divided by the world size on every backend (same numbers on CPU and GPU).
#include "nanochat/distributed.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if NANOCHAT_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "nanochat/error.hpp"

namespace nanochat {
namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  long parsed = std::strtol(value, &end, 10);
  if (*end != '\0' || parsed < 0 || parsed > 1000000) {
    throw Error(std::string("environment variable ") + name + "='" + value + "' is not a non-negative integer");
  }
  return static_cast<int>(parsed);
}

void wait(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv env;
  env.rank = env_int("RANK", 0);
  env.world_size = env_int("WORLD_SIZE", 1);
  env.local_rank = env_int("LOCAL_RANK", env.rank);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') env.master_addr = addr;
  env.master_port = env_int("MASTER_PORT", 29500);
  if (env.world_size < 1 || env.rank >= env.world_size) {
    throw Error("RANK=" + std::to_string(env.rank) + " must be below WORLD_SIZE=" + std::to_string(env.world_size));
  }
  return env;
}

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

Distributed::Distributed(const DistEnv& env) : env_(env), impl_(std::make_unique<Impl>()) {}
Distributed::~Distributed() = default;

std::shared_ptr<Distributed> Distributed::init(const DistEnv& env, c10::Device device) {
  std::shared_ptr<Distributed> dist(new Distributed(env));
  if (env.world_size == 1) return dist;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = env.rank == 0;
  options.numWorkers = env.world_size;
  options.waitWorkers = true;
  options.timeout = std::chrono::seconds(300);
  try {
    dist->impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& e) {
    throw Error("cannot reach the rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port) +
                " (MASTER_ADDR/MASTER_PORT): " + e.what());
  }
  if (device.is_cuda()) {
#if NANOCHAT_WITH_CUDA
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    dist->impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(dist->impl_->store, env.rank,
                                                                        env.world_size, nccl_options);
#else
    throw Error("a CUDA device needs NCCL, and this build has no CUDA");
#endif
  } else {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create();
    gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
    dist->impl_->backend =
        c10::make_intrusive<c10d::ProcessGroupGloo>(dist->impl_->store, env.rank, env.world_size, gloo_options);
  }
  return dist;
}

void Distributed::all_reduce_sum(at::Tensor& tensor) {
  if (!is_distributed()) return;
  std::vector<at::Tensor> tensors = {tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  wait(impl_->backend->allreduce(tensors, options));
}

void Distributed::all_reduce_avg(at::Tensor& tensor) {
  if (!is_distributed()) return;
  all_reduce_sum(tensor);
  tensor.div_(env_.world_size);
}

void Distributed::all_reduce_max(at::Tensor& tensor) {
  if (!is_distributed()) return;
  std::vector<at::Tensor> tensors = {tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  wait(impl_->backend->allreduce(tensors, options));
}

void Distributed::reduce_scatter_avg(at::Tensor& output, at::Tensor& input) {
  if (!is_distributed()) {
    output.copy_(input);
    return;
  }
  c10d::ReduceScatterOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  wait(impl_->backend->_reduce_scatter_base(output, input, options));
  output.div_(env_.world_size);
}

void Distributed::all_gather(at::Tensor& output, at::Tensor& input) {
  if (!is_distributed()) {
    output.copy_(input);
    return;
  }
  wait(impl_->backend->_allgather_base(output, input));
}

void Distributed::broadcast(at::Tensor& tensor, int root) {
  if (!is_distributed()) return;
  std::vector<at::Tensor> tensors = {tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  wait(impl_->backend->broadcast(tensors, options));
}

void Distributed::barrier() {
  if (!is_distributed()) return;
  wait(impl_->backend->barrier());
}

}  // namespace nanochat

// The optimizer plugins, loaded through the registry as the trainer does: the options they
// declare, Newton–Schulz is near-orthogonal, AdamW equals a hand-computed reference and
// torch::optim::AdamW, Muon equals a plain reference and warms its momentum up over its own
// steps (continued exactly after a state round trip), and a 2-rank Gloo run (this binary
// started twice as workers) ends with the same parameters as one process given the averaged
// grads.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <fstream>
#include <thread>

#include "nanochat/cpu_info.hpp"
#include "nanochat/device.hpp"
#include "nanochat/distributed.hpp"
#include "nanochat/error.hpp"
#include "nanochat/optimizer.hpp"
#include "nanochat/plugin_registry.hpp"
#include "nanochat/subprocess.hpp"
#include "newton_schulz.hpp"

namespace fs = std::filesystem;
using namespace nanochat;

namespace {

std::shared_ptr<Optimizer> make_optimizer(const std::string& name) {
  PluginRegistry::instance().set_search_dirs({fs::path(NANOCHAT_TEST_BINARY_DIR) / "lib/nanochat/plugins"});
  return PluginRegistry::instance().create<Optimizer>(PluginKind::optimizer, name);
}

at::Tensor make_param(at::IntArrayRef shape) { return at::randn(shape).requires_grad_(true); }

std::vector<at::Tensor> clone_all(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.detach().to(at::kDouble) - b.detach().to(at::kDouble)).abs().max().item<double>();
}

// The textbook iteration, unfused, in float64: what newton_schulz5 must agree with.
at::Tensor plain_newton_schulz(const at::Tensor& g) {
  at::Tensor x = g.to(at::kDouble);
  const bool tall = x.size(0) > x.size(1);
  if (tall) x = x.t();
  x = x / (x.norm() + 1e-7);
  for (int i = 0; i < 5; ++i) {
    at::Tensor a = x.mm(x.t());
    at::Tensor b = muon::kNewtonSchulzB * a + muon::kNewtonSchulzC * a.mm(a);
    x = muon::kNewtonSchulzA * x + b.mm(x);
  }
  return tall ? x.t() : x;
}

// ---- Newton–Schulz -------------------------------------------------------------------

TEST(NewtonSchulz, OutputIsNearOrthogonalForWideTallAndSquare) {
  at::manual_seed(0);
  std::vector<at::Tensor> inputs;
  for (auto shape : std::vector<std::vector<int64_t>>{{64, 256}, {256, 64}, {96, 160}, {160, 96}}) {
    inputs.push_back(at::randn(shape));
  }
  // Five steps send a singular value in (0.0035, 1]·‖G‖_F to [0.68, 1.203]. A square random
  // matrix has some below that, so this one has its spectrum in [0.01, 1]·σ_max instead.
  auto [u, unused_s, v] = at::linalg_svd(at::randn({128, 128}), false);
  inputs.push_back(u.mm(at::diag(at::logspace(-2, 0, 128))).mm(v));
  for (const auto& g : inputs) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      at::Tensor before = g.clone();
      at::Tensor x = muon::newton_schulz5(g, 5, dtype);
      EXPECT_EQ(x.sizes(), g.sizes());
      EXPECT_EQ(x.scalar_type(), dtype);
      EXPECT_TRUE(at::equal(g, before)) << "the input must not change";
      at::Tensor s = at::linalg_svdvals(x.to(at::kFloat));
      EXPECT_GT(s.min().item<double>(), 0.65) << "shape " << shape_text(g.sizes()) << " " << dtype;
      EXPECT_LT(s.max().item<double>(), 1.25) << "shape " << shape_text(g.sizes()) << " " << dtype;
    }
  }
}

TEST(NewtonSchulz, MatchesTheUnfusedIterationAndBatchesIndependently) {
  at::manual_seed(1);
  at::Tensor batch = at::randn({3, 48, 80});
  at::Tensor tall = at::randn({3, 80, 48});
  at::Tensor x = muon::newton_schulz5(batch, 5, at::kFloat);
  at::Tensor xt = muon::newton_schulz5(tall, 5, at::kFloat);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_LT(max_abs_diff(x[i], plain_newton_schulz(batch[i])), 1e-4);
    EXPECT_LT(max_abs_diff(xt[i], plain_newton_schulz(tall[i])), 1e-4);
    EXPECT_LT(max_abs_diff(x[i], muon::newton_schulz5(batch[i], 5, at::kFloat)), 1e-6);
  }
  // bf16 keeps 8 bits of mantissa: entries of ~0.1 agree to a few 1e-3.
  EXPECT_LT(max_abs_diff(muon::newton_schulz5(batch[0], 5, at::kBFloat16), plain_newton_schulz(batch[0])), 2e-2);
}

TEST(NewtonSchulz, CpuDefaultFollowsTheCpusBf16Support) {
  // bf16 only where the CPU multiplies it natively; /proc/cpuinfo is read here
  // independently of the plugin, which asks LibTorch's cpuinfo.
  const auto expected = nanochat::this_cpu().native_bf16() ? at::kBFloat16 : at::kFloat;
  EXPECT_EQ(muon::newton_schulz_default_dtype(c10::Device(at::kCPU)), expected)
      << "CPU '" << nanochat::this_cpu().model << "', native bf16: " << nanochat::this_cpu().native_bf16();
}

TEST(NewtonSchulz, DefaultsToBf16OnCuda) {
  c10::Device cuda(at::kCPU);
  try {
    cuda = resolve_device("cuda");
  } catch (const Error& e) {
    GTEST_SKIP() << "no CUDA device here: " << e.what();
  }
  ASSERT_EQ(muon::newton_schulz_default_dtype(cuda), at::kBFloat16);
  // And the iteration runs there, in that dtype, still near-orthogonal.
  at::manual_seed(8);
  at::Tensor g = at::randn({64, 96});
  at::Tensor x = muon::newton_schulz5(g.to(cuda), 5, at::kBFloat16);
  EXPECT_TRUE(x.is_cuda());
  EXPECT_EQ(x.scalar_type(), at::kBFloat16);
  at::Tensor s = at::linalg_svdvals(x.to(at::kCPU, at::kFloat));
  EXPECT_GT(s.min().item<double>(), 0.65);
  EXPECT_LT(s.max().item<double>(), 1.25);
}

// ---- schedules -------------------------------------------------------------------------

TEST(Schedules, AdamWLrScaleFollowsWidth) {
  EXPECT_NEAR(adamw_lr_scale(768), 1.0, 1e-12);
  EXPECT_NEAR(adamw_lr_scale(1280), 0.774597, 1e-6);
}

// ---- declared options ------------------------------------------------------------------

std::vector<std::string> option_names(const Optimizer& optimizer) {
  std::vector<std::string> names;
  for (const OptionSpec& spec : optimizer.describe_options()) names.push_back(spec.name);
  return names;
}

TEST(DeclaredOptions, EachPluginListsItsOptionsWithDefaultsAndHelp) {
  auto adamw = make_optimizer("adamw");
  auto muon = make_optimizer("muon");
  EXPECT_EQ(option_names(*adamw), (std::vector<std::string>{"beta1", "beta2", "eps"}));
  EXPECT_EQ(option_names(*muon), (std::vector<std::string>{"momentum", "momentum-start", "momentum-warmup-steps",
                                                           "nesterov", "ns-steps", "ns-bf16"}));
  EXPECT_EQ(resolve_options("adamw", adamw->describe_options(), {}),
            (OptimizerOptions{{"beta1", 0.8}, {"beta2", 0.95}, {"eps", 1e-10}}));
  EXPECT_EQ(resolve_options("muon", muon->describe_options(), {}),
            (OptimizerOptions{{"momentum", 0.95}, {"momentum-start", 0.85}, {"momentum-warmup-steps", 300},
                              {"nesterov", 1}, {"ns-steps", 5}, {"ns-bf16", -1}}));
  for (const auto* optimizer : {adamw.get(), muon.get()}) {
    for (const OptionSpec& spec : optimizer->describe_options()) {
      EXPECT_FALSE(spec.help.empty()) << spec.name;
      EXPECT_NO_THROW(check_option_value("default", spec, spec.default_value)) << spec.name;
    }
  }
  EXPECT_TRUE(adamw->supports_weight_decay());
  EXPECT_FALSE(muon->supports_weight_decay());
}

// ---- AdamW -----------------------------------------------------------------------------

struct AdamWReference {
  double lr, wd, beta1 = 0.8, beta2 = 0.95, eps = 1e-10;
  at::Tensor p, m, v;
  int t = 0;
  AdamWReference(const at::Tensor& param, double lr_, double wd_)
      : lr(lr_), wd(wd_), p(param.detach().to(at::kDouble)), m(at::zeros_like(p)), v(at::zeros_like(p)) {}
  void step(const at::Tensor& grad, double lr_multiplier) {
    at::Tensor g = grad.to(at::kDouble);
    const double lr_now = lr * lr_multiplier;
    ++t;
    p = p * (1 - lr_now * wd);
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
    p = p - (lr_now / bc1) * m / (v.sqrt() / std::sqrt(bc2) + eps);
  }
};

TEST(AdamW, MatchesHandComputedReferenceWithBiasCorrectionAndDecay) {
  at::manual_seed(2);
  std::vector<at::Tensor> a = {make_param({6, 4}), make_param({7})}, b = {make_param({3, 5})};
  std::vector<AdamWReference> ref = {{a[0], 0.01, 0.0}, {a[1], 0.01, 0.0}, {b[0], 0.03, 0.1}};
  auto opt = make_optimizer("adamw");
  opt->setup({{"embedding", a, 0.01, 0.0}, {"head", b, 0.03, 0.1}}, {}, nullptr);
  std::vector<at::Tensor> params = {a[0], a[1], b[0]};
  for (int step = 0; step < 5; ++step) {
    const double lrm = step < 3 ? 1.0 : 0.5;
    opt->set_lr_multiplier(lrm);
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor g = at::randn(params[i].sizes()) * (i + 1);
      params[i].mutable_grad() = g;
      ref[i].step(g, lrm);
    }
    opt->step();
    opt->zero_grad();
    // Elementwise arithmetic only: no sum whose order a CPU kind could change, so the fp32
    // results, and their distance from float64, are the same on every machine.
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_FALSE(params[i].grad().defined());
      EXPECT_LT(max_abs_diff(params[i], ref[i].p), 1e-6) << "param " << i << " step " << step;
    }
  }
}

TEST(AdamW, MatchesTorchOptimAdamW) {
  at::manual_seed(3);
  std::vector<at::Tensor> ours = {make_param({16, 8}), make_param({33})};
  std::vector<at::Tensor> theirs = clone_all(ours);
  for (auto& t : theirs) t.requires_grad_(true);
  auto opt = make_optimizer("adamw");
  opt->setup({{"all", ours, 0.004, 0.05}}, {}, nullptr);
  torch::optim::AdamW reference(theirs, torch::optim::AdamWOptions(0.004).betas({0.8, 0.95}).eps(1e-10).weight_decay(0.05));
  for (int step = 0; step < 6; ++step) {
    for (size_t i = 0; i < ours.size(); ++i) {
      at::Tensor g = at::randn(ours[i].sizes());
      ours[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    opt->step();
    reference.step();
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_LT(max_abs_diff(ours[i], theirs[i]), 1e-6) << "step " << step;
  }
}

TEST(AdamW, RefusesBadOptions) {
  auto opt = make_optimizer("adamw");
  at::Tensor p = make_param({4});
  EXPECT_THROW(opt->setup({{"g", {p}, 0.1, 0.0}}, {{"betas", 0.9}}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"g", {p}, 0.1, 0.0}}, {{"beta2", 1.0}}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"g", {p}, 0.1, 0.0}, {"g", {p}, 0.1, 0.0}}, {}, nullptr), UsageError);
  opt->setup({{"g", {p}, 0.1, 0.0}}, {}, nullptr);
  EXPECT_THROW(opt->step(), Error) << "a parameter without a gradient";
}

// ---- Muon ------------------------------------------------------------------------------

struct MuonReference {
  at::Tensor p, buf;
  double lr;
  bool nesterov;
  MuonReference(const at::Tensor& param, double lr_, bool nesterov_)
      : p(param.detach().clone()), buf(at::zeros_like(p)), lr(lr_), nesterov(nesterov_) {}
  void step(const at::Tensor& grad, double momentum, double lr_multiplier, c10::ScalarType compute) {
    // SPEC §4's lerps, so the bf16 input of Newton–Schulz is bit-identical to the plugin's.
    buf = at::lerp(buf, grad, 1 - momentum);
    at::Tensor direction = nesterov ? at::lerp(grad, buf, momentum) : buf;
    at::Tensor x = muon::newton_schulz5(direction, 5, compute);
    const double scale = std::sqrt(std::max(1.0, static_cast<double>(p.size(0)) / p.size(1)));
    p = p - lr * lr_multiplier * scale * x.to(p.scalar_type());
  }
};

// nanochat's get_muon_momentum with the warm-up shortened to 3 steps, so 4 steps see it
// rise and then hold.
double reference_momentum(int step) {
  const double frac = std::min(step / 3.0, 1.0);
  return (1 - frac) * 0.85 + frac * 0.95;
}

void check_muon_against_reference(bool nesterov, double ns_bf16, c10::ScalarType compute, double tolerance) {
  at::manual_seed(4);
  std::vector<at::Tensor> m1 = {make_param({32, 64}), make_param({64, 32}), make_param({32, 64}), make_param({48, 48})};
  std::vector<at::Tensor> m2 = {make_param({96, 24})};
  std::vector<MuonReference> ref;
  for (const auto& p : m1) ref.emplace_back(p, 0.02, nesterov);
  for (const auto& p : m2) ref.emplace_back(p, 0.05, nesterov);
  auto opt = make_optimizer("muon");
  opt->setup({{"matrix", m1, 0.02, 0.0}, {"tall", m2, 0.05, 0.0}},
             {{"nesterov", nesterov ? 1.0 : 0.0}, {"ns-bf16", ns_bf16}, {"momentum-warmup-steps", 3}}, nullptr);
  std::vector<at::Tensor> params = m1;
  params.insert(params.end(), m2.begin(), m2.end());
  for (int step = 0; step < 4; ++step) {
    const double lrm = 1.0 - 0.2 * step;
    opt->set_lr_multiplier(lrm);
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor g = at::randn(params[i].sizes());
      params[i].mutable_grad() = g.clone();
      ref[i].step(g, reference_momentum(step), lrm, compute);
    }
    opt->step();
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_LT(max_abs_diff(params[i], ref[i].p), tolerance) << "param " << i << " step " << step;
    }
  }
}

TEST(Muon, NesterovStepsMatchThePlainReference) { check_muon_against_reference(true, 0.0, at::kFloat, 1e-6); }
TEST(Muon, PlainMomentumStepsMatchThePlainReference) { check_muon_against_reference(false, 0.0, at::kFloat, 1e-6); }
TEST(Muon, Bf16NewtonSchulzStepsMatchThePlainReference) {
  // The same bf16 iteration on both sides; only the stacking differs (one batched matmul
  // over equal shapes against one matmul per matrix). Where a CPU kind runs the two through
  // different kernels (AMX or AVX512_BF16 tiles for the batch), their fp32 accumulations
  // may round an output entry to the neighbouring bf16 value: at most one bf16 step
  // (2^-8 of |x| ≤ 1.25, the near-orthogonal output's largest entry) per step, which moves a
  // parameter by lr·lrm·√(rows/cols) ≤ 0.05·1·2 times that. Over 4 steps: 4·0.1·1.25·2^-8.
  check_muon_against_reference(true, 1.0, at::kBFloat16, 4 * 0.1 * 1.25 * std::ldexp(1.0, -8));
}

TEST(Muon, UpdateIsScaledAndOrthogonal) {
  // One step from zero momentum with momentum 0: p moves by lr·√(rows/cols)·NS(g).
  at::manual_seed(5);
  at::Tensor p = make_param({64, 16});
  at::Tensor before = p.detach().clone();
  auto opt = make_optimizer("muon");
  opt->setup({{"m", {p}, 0.1, 0.0}}, {{"momentum-start", 0.0}, {"momentum", 0.0}, {"ns-bf16", 0.0}}, nullptr);
  p.mutable_grad() = at::randn({64, 16});
  opt->step();
  at::Tensor s = at::linalg_svdvals((before - p.detach()) / (0.1 * 2.0));
  EXPECT_GT(s.min().item<double>(), 0.65);
  EXPECT_LT(s.max().item<double>(), 1.25);
}

TEST(Muon, RefusesWhatItCannotUpdate) {
  auto opt = make_optimizer("muon");
  at::Tensor vector = make_param({8}), matrix = make_param({4, 4});
  EXPECT_THROW(opt->setup({{"m", {vector}, 0.02, 0.0}}, {}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"m", {matrix}, 0.02, 0.1}}, {}, nullptr), UsageError) << "Muon has no weight decay";
  EXPECT_THROW(opt->setup({{"m", {matrix}, 0.02, 0.0}}, {{"lr", 0.1}}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"m", {matrix}, 0.02, 0.0}}, {{"ns-steps", 2.5}}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"m", {matrix}, 0.02, 0.0}}, {{"momentum", 1.5}}, nullptr), UsageError);
  EXPECT_THROW(opt->setup({{"m", {matrix}, 0.02, 0.0}}, {{"momentum-warmup-steps", -1}}, nullptr), UsageError);
  opt->setup({{"m", {matrix}, 0.02, 0.0}}, {}, nullptr);
  EXPECT_THROW(opt->step(), Error) << "a parameter without a gradient";
}

// The momentum Muon's next step uses, read back from its momentum buffer: the step sets
// buf' = m·buf + (1 − m)·g, so m is the least-squares slope of buf' − g against buf − g.
double next_step_momentum(Optimizer& opt, const at::Tensor& p) {
  const at::Tensor before = opt.state_dict().at("m.0.momentum_buffer").clone();
  const at::Tensor g = at::randn(p.sizes());
  p.mutable_grad() = g.clone();
  opt.step();
  const at::Tensor after = opt.state_dict().at("m.0.momentum_buffer");
  return ((after - g) * (before - g)).sum().item<double>() / (before - g).square().sum().item<double>();
}

TEST(Muon, WarmsItsMomentumUpOverItsOwnStepsAndResumesTheRamp) {
  at::manual_seed(8);
  at::Tensor p = make_param({8, 8});
  auto opt = make_optimizer("muon");
  opt->setup({{"m", {p}, 0.01, 0.0}}, {{"ns-bf16", 0.0}}, nullptr);
  std::map<int, double> seen;
  OptimizerState at_150;
  for (int step = 0; step <= 301; ++step) {
    if (step == 150) {
      for (const auto& [key, tensor] : opt->state_dict()) at_150[key] = tensor.clone();
    }
    const double momentum = next_step_momentum(*opt, p);
    if (step == 0 || step == 1 || step == 150 || step == 300 || step == 301) seen[step] = momentum;
  }
  // The buffer is float: m comes back to about 1e-6.
  EXPECT_NEAR(seen[0], 0.85, 1e-5);
  EXPECT_NEAR(seen[1], 0.85 + 0.1 / 300, 1e-5);
  EXPECT_NEAR(seen[150], 0.90, 1e-5);
  EXPECT_NEAR(seen[300], 0.95, 1e-5);
  EXPECT_NEAR(seen[301], 0.95, 1e-5);
  EXPECT_EQ(opt->state_dict().at("step").item<int64_t>(), 302);

  // A fresh optimizer given the state saved before step 150 continues the ramp there.
  EXPECT_EQ(at_150.at("step").item<int64_t>(), 150);
  at::Tensor q = make_param({8, 8});
  auto resumed = make_optimizer("muon");
  resumed->setup({{"m", {q}, 0.01, 0.0}}, {{"ns-bf16", 0.0}}, nullptr);
  resumed->load_state_dict(at_150);
  EXPECT_NEAR(next_step_momentum(*resumed, q), 0.90, 1e-5);
  EXPECT_NEAR(next_step_momentum(*resumed, q), 0.90 + 0.1 / 300, 1e-5);

  OptimizerState without_step = at_150;
  without_step.erase("step");
  EXPECT_THROW(resumed->load_state_dict(without_step), Error);
}

TEST(Muon, WarmUpFollowsItsOptions) {
  at::manual_seed(9);
  at::Tensor p = make_param({8, 8});
  auto constant = make_optimizer("muon");
  constant->setup({{"m", {p}, 0.01, 0.0}}, {{"momentum-warmup-steps", 0}, {"momentum", 0.7}, {"ns-bf16", 0.0}}, nullptr);
  EXPECT_NEAR(next_step_momentum(*constant, p), 0.7, 1e-5);
  EXPECT_NEAR(next_step_momentum(*constant, p), 0.7, 1e-5);
  auto short_ramp = make_optimizer("muon");
  short_ramp->setup({{"m", {p}, 0.01, 0.0}}, {{"momentum-warmup-steps", 2}, {"momentum-start", 0.5}, {"ns-bf16", 0.0}},
                    nullptr);
  EXPECT_NEAR(next_step_momentum(*short_ramp, p), 0.5, 1e-5);
  EXPECT_NEAR(next_step_momentum(*short_ramp, p), 0.725, 1e-5);
  EXPECT_NEAR(next_step_momentum(*short_ramp, p), 0.95, 1e-5);
}

// ---- state round trip ------------------------------------------------------------------

// Two optimizers: one runs 5 steps; the other runs 2, is rebuilt from its saved parameters and
// state into a fresh optimizer, and runs 3 more. Both must end identical, bit for bit by
// design: the same process computes the same operations on the same values in the same order.
void check_round_trip(const std::string& name, const std::vector<std::vector<int64_t>>& shapes) {
  at::manual_seed(6);
  std::vector<at::Tensor> params;
  for (const auto& s : shapes) params.push_back(make_param(s));
  std::vector<at::Tensor> grads[5];
  for (auto& step_grads : grads) {
    for (const auto& p : params) step_grads.push_back(at::randn(p.sizes()));
  }
  auto run = [&](std::shared_ptr<Optimizer> opt, std::vector<at::Tensor>& ps, int from, int to) {
    for (int step = from; step < to; ++step) {
      for (size_t i = 0; i < ps.size(); ++i) ps[i].mutable_grad() = grads[step][i].clone();
      opt->step();
      opt->zero_grad();
    }
  };
  std::vector<at::Tensor> straight = clone_all(params), resumed = clone_all(params);
  for (auto& t : straight) t.requires_grad_(true);
  for (auto& t : resumed) t.requires_grad_(true);
  auto a = make_optimizer(name);
  a->setup({{"g", straight, 0.01, 0.0}}, {}, nullptr);
  run(a, straight, 0, 5);

  auto b = make_optimizer(name);
  b->setup({{"g", resumed, 0.01, 0.0}}, {}, nullptr);
  run(b, resumed, 0, 2);
  OptimizerState saved;
  for (const auto& [key, tensor] : b->state_dict()) saved[key] = tensor.clone();
  std::vector<at::Tensor> reloaded = clone_all(resumed);
  for (auto& t : reloaded) t.requires_grad_(true);
  b.reset();
  auto c = make_optimizer(name);
  c->setup({{"g", reloaded, 0.01, 0.0}}, {}, nullptr);
  c->load_state_dict(saved);
  run(c, reloaded, 2, 5);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(at::equal(straight[i], reloaded[i])) << name << " param " << i;

  OptimizerState other_world = saved;
  other_world["world_size"] = at::scalar_tensor(static_cast<int64_t>(2), at::kLong);
  EXPECT_THROW(c->load_state_dict(other_world), Error);
  OptimizerState missing = saved;
  missing.erase(missing.begin());
  EXPECT_THROW(c->load_state_dict(missing), Error);
}

TEST(StateDict, AdamWRoundTripContinuesIdentically) { check_round_trip("adamw", {{8, 4}, {5}}); }
TEST(StateDict, MuonRoundTripContinuesIdentically) { check_round_trip("muon", {{16, 8}, {16, 8}, {8, 24}}); }

// ---- distributed -----------------------------------------------------------------------

// Both optimizers on groups that exercise every layout: AdamW params that shard on dim 0
// and ones that do not (all-reduce fallback); Muon shapes whose count is below, equal to
// and not a multiple of the world size. Rank r's gradient is half r of the batch; without
// `dist` the gradient is the whole batch's (their mean). Returns the final parameters.
std::vector<at::Tensor> run_workload(const std::shared_ptr<Distributed>& dist) {
  at::manual_seed(7);
  std::vector<at::Tensor> wte = {make_param({8, 6})}, head = {make_param({5, 3}), make_param({4})};
  std::vector<at::Tensor> matrix = {make_param({16, 32}), make_param({16, 32}), make_param({16, 32}),
                                    make_param({32, 16}), make_param({32, 16}), make_param({24, 24})};
  std::vector<at::Tensor> single = {make_param({16, 32})};
  auto adamw = make_optimizer("adamw");
  auto muon = make_optimizer("muon");
  adamw->setup({{"wte", wte, 0.05, 0.0}, {"head", head, 0.02, 0.1}}, {}, dist);
  muon->setup({{"matrix", matrix, 0.02, 0.0}, {"single", single, 0.01, 0.0}}, {{"ns-bf16", 0.0}}, dist);
  std::vector<at::Tensor> params;
  for (const auto* list : {&wte, &head, &matrix, &single}) params.insert(params.end(), list->begin(), list->end());
  const int rank = dist ? dist->rank() : 0;
  for (int step = 0; step < 3; ++step) {
    for (auto& p : params) {
      at::Tensor half0 = at::randn(p.sizes()), half1 = at::randn(p.sizes());
      p.mutable_grad() = !dist ? (half0 + half1) / 2 : (rank == 0 ? half0 : half1);
    }
    adamw->set_lr_multiplier(1.0 - 0.1 * step);
    muon->set_lr_multiplier(1.0 - 0.1 * step);
    adamw->step();
    muon->step();
    adamw->zero_grad();
    muon->zero_grad();
  }
  if (dist) {
    // The state is sharded: rank r holds rows [4r, 4r+4) of wte, the whole of head's
    // parameters, and the momentum of matrices r, r+2, ... of each shape.
    auto adamw_state = adamw->state_dict();
    EXPECT_EQ(adamw_state.at("wte.0.exp_avg").sizes(), at::IntArrayRef({4, 6}));
    EXPECT_EQ(adamw_state.at("head.0.exp_avg").sizes(), at::IntArrayRef({5, 3}));
    EXPECT_EQ(adamw_state.at("head.1.exp_avg").sizes(), at::IntArrayRef({2}));
    auto muon_state = muon->state_dict();
    const std::vector<std::string> owned = rank == 0 ? std::vector<std::string>{"matrix.0", "matrix.2", "matrix.3", "matrix.5", "single.0"}
                                                     : std::vector<std::string>{"matrix.1", "matrix.4"};
    EXPECT_EQ(muon_state.size(), owned.size() + 2);  // + world_size and step
    for (const auto& key : owned) EXPECT_EQ(muon_state.count(key + ".momentum_buffer"), 1u) << key;
  }
  return clone_all(params);
}

void write_tensors(const fs::path& path, const std::vector<at::Tensor>& tensors) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& t : tensors) {
    at::Tensor c = t.contiguous().to(at::kFloat);
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  }
}

std::vector<at::Tensor> read_tensors_like(const fs::path& path, const std::vector<at::Tensor>& like) {
  std::ifstream in(path, std::ios::binary);
  std::vector<at::Tensor> out;
  for (const auto& t : like) {
    at::Tensor c = at::empty(t.sizes(), at::kFloat);
    in.read(static_cast<char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
    out.push_back(c);
  }
  EXPECT_TRUE(in.good()) << path << " is short";
  return out;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Waits for every child until `deadline`, then kills the ones left. Returns exit codes
// (-1 for a child that had to be killed).
std::vector<int> wait_all(const std::vector<pid_t>& pids, std::chrono::seconds limit) {
  std::vector<int> codes(pids.size(), -2);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  size_t left = pids.size();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < pids.size(); ++i) {
      int status = 0;
      if (codes[i] != -2 || waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
      codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      --left;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    if (codes[i] != -2) continue;
    kill(pids[i], SIGKILL);
    waitpid(pids[i], nullptr, 0);
    codes[i] = -1;
  }
  return codes;
}

// Run only as a child of the test below (the DISABLED_ prefix keeps it out of normal runs).
TEST(OptimizerWorker, DISABLED_Rank) {
  const char* out = std::getenv("NANOCHAT_TEST_WORKER_OUT");
  ASSERT_NE(out, nullptr) << "started by OptimizerDistributed.TwoGlooRanksMatchOneProcess";
  auto dist = Distributed::init(DistEnv::from_environment(), c10::Device(at::kCPU));
  auto params = run_workload(dist);
  write_tensors(fs::path(out) / ("rank" + std::to_string(dist->rank()) + ".bin"), params);
  dist->barrier();
}

TEST(OptimizerDistributed, TwoGlooRanksMatchOneProcess) {
  const fs::path dir = fs::temp_directory_path() / ("nanochat_opt_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    pids.push_back(spawn_process({fs::read_symlink("/proc/self/exe").string(), "--gtest_filter=OptimizerWorker.DISABLED_Rank",
                                  "--gtest_also_run_disabled_tests"},
                                 {{"RANK", std::to_string(rank)},
                                  {"LOCAL_RANK", std::to_string(rank)},
                                  {"WORLD_SIZE", "2"},
                                  {"MASTER_ADDR", "127.0.0.1"},
                                  {"MASTER_PORT", port},
                                  {"NANOCHAT_TEST_WORKER_OUT", dir.string()}}));
  }
  const auto single = run_workload(nullptr);
  const auto codes = wait_all(pids, std::chrono::seconds(120));
  for (int rank = 0; rank < 2; ++rank) ASSERT_EQ(codes[rank], 0) << "rank " << rank << " failed (-1: timed out)";
  for (int rank = 0; rank < 2; ++rank) {
    const auto got = read_tensors_like(dir / ("rank" + std::to_string(rank) + ".bin"), single);
    for (size_t i = 0; i < single.size(); ++i) {
      EXPECT_LT(max_abs_diff(got[i], single[i]), 1e-6) << "rank " << rank << " param " << i;
    }
  }
  // POSIX, not fs::remove_all: the CUDA wheel's libtorch.so exports its own std::filesystem
  // functions, and its remove_all crashes when it wins symbol lookup.
  for (int rank = 0; rank < 2; ++rank) ::unlink((dir / ("rank" + std::to_string(rank) + ".bin")).c_str());
  ::rmdir(dir.c_str());
}

}  // namespace

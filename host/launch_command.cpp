// `nanochat launch --nproc N [--nnodes M --node-rank R --master-addr A --master-port P] -- ARGS`:
// starts N local ranks of `nanochat ARGS` with the standard rendezvous environment (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), as torchrun would. If one rank fails,
// the others are stopped; Ctrl-C stops them all. The exit code is the first failure's.
#include <boost/program_options.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "nanochat/error.hpp"
#include "nanochat/log.hpp"
#include "nanochat/subprocess.hpp"

namespace po = boost::program_options;

namespace nanochat::host {
namespace {

constexpr int kMaxRanks = 1024;
pid_t g_children[kMaxRanks];
std::atomic<int> g_child_count{0};

// Also the SIGINT/SIGTERM handler, so async-signal-safe: only kill(2).
void stop_all(int signal) {
  for (int i = 0; i < g_child_count.load(); ++i) {
    if (g_children[i] > 0) kill(g_children[i], signal);
  }
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Reaps every child; after the first failure, asks the rest to stop (SIGTERM, then
// SIGKILL after a grace period).
int wait_for_ranks(int count) {
  int running = count, first_failure = 0;
  auto failed_at = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  while (running > 0) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (!killed && std::chrono::steady_clock::now() - failed_at > std::chrono::seconds(10)) {
        stop_all(SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    --running;
    int rank = -1;
    for (int i = 0; i < count; ++i) {
      if (g_children[i] == pid) {
        rank = i;
        g_children[i] = 0;
      }
    }
    int code = exit_code_of(status);
    if (code != 0 && first_failure == 0) {
      first_failure = code;
      log::error("launch: local rank {} exited with code {}; stopping the other ranks", rank, code);
      stop_all(SIGTERM);
      failed_at = std::chrono::steady_clock::now();
    }
  }
  return first_failure;
}

}  // namespace

int launch_command(const Args& args) {
  const char* usage =
      "usage: nanochat launch --nproc N [--nnodes M --node-rank R --master-addr HOST --master-port PORT] -- COMMAND [ARGS]";
  auto separator = std::find(args.begin(), args.end(), "--");
  if (separator == args.end() || separator + 1 == args.end()) throw UsageError(usage);
  Args own(args.begin(), separator), command(separator + 1, args.end());

  po::options_description options("Launch options");
  options.add_options()("nproc", po::value<int>()->required(), "ranks on this machine")(
      "nnodes", po::value<int>()->default_value(1), "machines in the job")(
      "node-rank", po::value<int>()->default_value(0), "this machine's index (0 = the one at --master-addr)")(
      "master-addr", po::value<std::string>()->default_value("127.0.0.1"), "rendezvous host (node 0)")(
      "master-port", po::value<int>()->default_value(29500), "rendezvous port");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(own).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "; " + usage);
  }
  int nproc = vm["nproc"].as<int>(), nnodes = vm["nnodes"].as<int>(), node_rank = vm["node-rank"].as<int>();
  if (nproc < 1 || nproc > kMaxRanks) throw UsageError("--nproc must be between 1 and " + std::to_string(kMaxRanks));
  if (nnodes < 1 || node_rank < 0 || node_rank >= nnodes) throw UsageError("--node-rank must be in [0, --nnodes)");
  int world = nproc * nnodes;

  struct sigaction action {};
  action.sa_handler = stop_all;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::vector<std::string> argv = {self_executable().string()};
  argv.insert(argv.end(), command.begin(), command.end());
  for (int local = 0; local < nproc; ++local) {
    int rank = node_rank * nproc + local;
    EnvOverrides env = {{"RANK", std::to_string(rank)},
                        {"WORLD_SIZE", std::to_string(world)},
                        {"LOCAL_RANK", std::to_string(local)},
                        {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
                        {"MASTER_ADDR", vm["master-addr"].as<std::string>()},
                        {"MASTER_PORT", std::to_string(vm["master-port"].as<int>())}};
    try {
      g_children[local] = spawn_process(argv, env);
    } catch (const Error&) {
      stop_all(SIGTERM);
      throw;
    }
    g_child_count.store(local + 1);
  }
  return wait_for_ranks(nproc);
}

}  // namespace nanochat::host

"""Serving benchmark (issue 5), through real HTTP against `nanochat run serve`:
time to first token, prefill tokens/s, decode tokens/s at batch 1 and with 8 concurrent
streams, and beside them the memory-bandwidth bound of decoding: every decoded token reads
all weights but the embedding table once, so no engine can beat
    copy bandwidth (bytes read + written per second, measured here) / weight bytes per token.
Other tenants share this machine's memory system, so the copy is probed between the decode
runs and the ratio is median decode speed over median bound. Then nanochat_bench_decode_step
breaks a step down (engine, forward, weight products) on the same checkpoint.
Run by run.sh with the LibTorch venv's python (torch is only used for the bandwidth probe).
"""
import argparse
import http.client
import json
import mmap
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import torch


def nanochat(host, args, env):
    result = subprocess.run([host, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"nanochat {' '.join(args[:2])} failed:\n{result.stderr}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`nanochat run serve` on a loopback port, stopped with SIGTERM on exit."""

    def __init__(self, host, env, workers, log_path, device):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [host, "run", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--source", "base", "--model-tag", "bench",
             "--device", device, "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit("nanochat serve exited:\n" + open(log_path).read())
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit("nanochat serve was not ready within 300 s")

    def request(self, method, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()

    def stream(self, body):
        """Streams an OpenAI reply; returns (send time, content chunk arrival times, completion tokens)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        start = time.perf_counter()
        connection.request("POST", "/v1/chat/completions",
                           body=json.dumps({**body, "stream": True, "stream_options": {"include_usage": True}}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            sys.exit(f"HTTP {response.status}: {response.read()!r}")
        arrivals, tokens = [], 0
        for line in response:
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                arrivals.append(time.perf_counter())
        return start, arrivals, tokens

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def ask(text, max_tokens, seed=1, temperature=1.0):
    return {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "seed": seed,
            "temperature": temperature, "top_k": 50}


def first_token_delay(start, arrivals, tokens):
    return arrivals[0] - start


def decode_rate(start, arrivals, tokens):
    """Tokens per second after the first one arrived (prefill excluded)."""
    return (tokens - 1) / (arrivals[-1] - arrivals[0])


class CopyProbe:
    """Bytes read + written per second of a 512 MB copy on `threads` threads, between huge-page
    buffers as the server's weights are (the bound must not be lower than what they get)."""

    def __init__(self, threads, megabytes=512):
        torch.set_num_threads(threads)
        self.memory = mmap.mmap(-1, 2 * megabytes * 2**20)
        self.memory.madvise(mmap.MADV_HUGEPAGE)
        both = torch.frombuffer(self.memory, dtype=torch.float32)
        self.source, self.target = both.chunk(2)
        self.source.fill_(1.0)
        self.target.zero_()
        self.samples = []

    def probe(self, repeats=3):
        for _ in range(repeats):
            begin = time.perf_counter()
            self.target.copy_(self.source)
            self.samples.append(2 * self.source.numel() * 4 / (time.perf_counter() - begin))


def weight_bytes_per_token(config, bytes_per_value):
    """Weights a decoding step reads: every block matrix and lm_head (a single wte row aside)."""
    d, layers = config["n_embd"], config["n_layer"]
    kv = config["n_kv_head"] * d // config["n_head"]
    padded_vocab = (config["vocab_size"] + 63) // 64 * 64
    block = d * d + 2 * d * kv + d * d + 8 * d * d  # c_q, c_k + c_v, c_proj, MLP
    return bytes_per_value * (layers * block + padded_vocab * d)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--vocab-size", type=int, default=65536)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--decode-tokens", type=int, default=256)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--step-breakdown", help="nanochat_bench_decode_step, run on the same checkpoint")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="nanochat-bench-serve-")
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    env = dict(os.environ, NANOCHAT_BASE_DIR=os.path.join(work, "base"), NANOCHAT_PLUGIN_PATH="", NANOCHAT_API_KEY="",
               OMP_NUM_THREADS=str(args.threads))
    print(f"# serve benchmark: depth {args.depth}, vocab {args.vocab_size}, context {args.seq_len}, {args.device}, "
          f"{args.threads} threads", flush=True)
    nanochat(args.host, ["run", "tokenizer", "--corpus", args.corpus, "--vocab-size", str(args.vocab_size)], env)
    nanochat(args.host, ["run", "data", "--corpus", args.corpus], env)
    # Speed does not depend on what the weights learned: one step makes a checkpoint.
    nanochat(args.host, ["run", "pretrain", "--depth", str(args.depth), "--max-seq-len", str(args.seq_len),
                         "--device-batch-size", "1", "--total-batch-size", str(args.seq_len), "--num-iterations", "1",
                         "--eval-every", "-1", "--sample-every", "-1", "--model-tag", "bench", "--device", args.device], env)
    meta = json.load(open(os.path.join(work, "base", "base_checkpoints", "bench", "meta_000001.json")))
    config = meta["model_config"]

    with open(os.path.join(args.corpus, sorted(f for f in os.listdir(args.corpus) if f.endswith(".jsonl"))[0])) as corpus:
        long_text = " ".join(json.loads(line)["text"] for _, line in zip(range(50), corpus))
    question = "Why is the sky blue? Explain it to a child in a few sentences."
    results = {}
    with Server(args.host, env, 1, os.path.join(work, "serve1.log"), args.device) as server:
        server.request("POST", "/v1/chat/completions", ask(question, 8))  # warm-up
        ttft = [first_token_delay(*server.stream(ask(question, 4, seed))) for seed in range(5)]
        results["ttft_ms"] = 1000 * statistics.median(ttft)

        # Prefill: the longest prompt the context and the 8000-character guard allow, one token out.
        prompt = long_text[:7900]
        rates = []
        for seed in range(3):
            begin = time.perf_counter()
            status, body = server.request("POST", "/v1/chat/completions", ask(prompt, 1, seed))
            elapsed = time.perf_counter() - begin
            if status != 200:
                sys.exit(f"prefill request: HTTP {status} {body!r}")
            prompt_tokens = json.loads(body)["usage"]["prompt_tokens"]
            rates.append(prompt_tokens / elapsed)
        results["prefill_prompt_tokens"] = prompt_tokens
        results["prefill_tok_s"] = statistics.median(rates)

        copy = CopyProbe(args.threads)
        copy.probe()
        rates = []
        for seed in range(5):
            rates.append(decode_rate(*server.stream(ask(question, args.decode_tokens, seed))))
            copy.probe()
        results["decode_b1_tok_s"] = statistics.median(rates)

    with Server(args.host, env, args.streams, os.path.join(work, f"serve{args.streams}.log"), args.device) as server:
        server.request("POST", "/v1/chat/completions", ask(question, 8))
        outcomes = [None] * args.streams

        def one(i):
            outcomes[i] = server.stream(ask(question, args.decode_tokens, 100 + i))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first = min(start for start, _, _ in outcomes)
        last = max(arrivals[-1] for _, arrivals, _ in outcomes)
        results[f"decode_{args.streams}_streams_tok_s"] = sum(tokens for _, _, tokens in outcomes) / (last - first)
        results[f"decode_{args.streams}_streams_per_stream_tok_s"] = statistics.median(decode_rate(*o) for o in outcomes)

    bytes_per_value = 4 if args.device == "cpu" else 2  # fp32 on CPU, bf16 on CUDA
    weights = weight_bytes_per_token(config, bytes_per_value)
    bandwidth = statistics.median(copy.samples)
    bound = bandwidth / weights
    results.update({"weight_bytes_per_token": weights, "copy_bandwidth_GB_s": bandwidth / 1e9,
                    "copy_bandwidth_best_GB_s": max(copy.samples) / 1e9,
                    "bandwidth_bound_tok_s": bound, "decode_b1_over_bound": results["decode_b1_tok_s"] / bound})
    print(json.dumps(results, indent=2))
    print(f"\n| metric | value |\n|---|---|\n"
          f"| time to first token (short prompt) | {results['ttft_ms']:.1f} ms |\n"
          f"| prefill ({prompt_tokens} tokens) | {results['prefill_tok_s']:.0f} tok/s |\n"
          f"| decode, batch 1 | {results['decode_b1_tok_s']:.1f} tok/s |\n"
          f"| decode, {args.streams} concurrent streams (total) | {results[f'decode_{args.streams}_streams_tok_s']:.1f} tok/s |\n"
          f"| weights read per token | {weights / 1e6:.1f} MB |\n"
          f"| copy bandwidth (median of {len(copy.samples)}; best {max(copy.samples) / 1e9:.2f}) | {bandwidth / 1e9:.2f} GB/s |\n"
          f"| bandwidth bound | {bound:.1f} tok/s |\n"
          f"| batch-1 decode / bound | {results['decode_b1_over_bound']:.2f} |", flush=True)
    if args.device == "cpu" and args.step_breakdown:
        print("\n# the same checkpoint without HTTP (nanochat_bench_decode_step)", flush=True)
        subprocess.run([args.step_breakdown, "--base", os.path.join(work, "base"), "--model-tag", "bench"], env=env,
                       check=True)


if __name__ == "__main__":
    main()

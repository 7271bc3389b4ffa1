#!/usr/bin/env python3
"""Pretraining benchmark driver (issue 4, item 7); bench/pretrain/run.sh calls it.

For each depth × dtype, one after the other (never two at once), it times
  ours: `nanochat run pretrain` on token shards made from the corpus, and
  ref:  reference_nanochat.py (nanochat's classic GPT + Muon + AdamW in PyTorch eager, and
        with torch.compile as base_train does), same depth, T, B, vocab, same PyTorch,
alternating which side goes first, and prints tok/s (median over the steps after the
warm-up), the ratio, and MFU = FLOPs/token · tok/s ÷ the matmul peak measured in the same
PyTorch (best square matmul, before and after), or ÷ --peak-flops where given (on a GPU:
nanochat's 989e12 for an H100, whose bf16 rate the H200 shares). --device cuda runs both
sides on the GPU (bench/gpu/run.sh); --prepare-only makes the tokenizer and shards and stops. For each run it also records the load:
/proc/loadavg and the CPU time that other processes took while it ran (from /proc/stat
minus the run's own rusage), in cores.
Only the Python standard library is used here.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_busy_seconds():
    """Busy CPU seconds of the whole machine so far (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_measured(cmd, env=None, log=None):
    """Runs cmd; returns (stdout text, facts about the machine while it ran)."""
    ncpu = os.cpu_count() or 1
    before_load, before_busy, t0 = loadavg(), cpu_busy_seconds(), time.monotonic()
    with open(log, "w") if log else open(os.devnull, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    busy = cpu_busy_seconds() - before_busy
    own = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    if log:
        with open(log, "a") as f:
            f.write(out)
    if code != 0:
        raise SystemExit(f"command failed ({code}): {' '.join(map(str, cmd))}\n  see {log}")
    facts = dict(wall=wall, own_cores=own / wall, others_cores=max(0.0, busy - own) / wall,
                 load_before=before_load, load_after=loadavg(), ncpu=ncpu)
    return out, facts


def json_lines(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                pass


def flops_per_token(depth, vocab, seq_len):
    """SPEC §3: 6·(N − N_wte) + 12·L·H·hd·T, vocab padded to 64."""
    d = 64 * depth
    heads = (d + 127) // 128
    padded = (vocab + 63) // 64 * 64
    n_matrix = 12 * depth * d * d
    return 6 * (n_matrix + padded * d) + 12 * depth * heads * (d // heads) * seq_len


def newton_schulz_flops(depth, steps=5):
    """FLOPs of Muon's Newton–Schulz per optimizer step (not in the MFU numerator)."""
    d = 64 * depth
    total = 0
    for rows, cols in [(d, d)] * 4 + [(4 * d, d), (d, 4 * d)]:
        m, n = min(rows, cols), max(rows, cols)
        total += steps * (2 * m * m * n + 2 * m * m * m + 2 * m * m * n)
    return depth * total


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = Path(a.work)
        self.base = self.work / "base"
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.nanochat = Path(a.build) / "bin" / "nanochat"
        self.results = []
        self.env = dict(os.environ, NANOCHAT_BASE_DIR=str(self.base))

    def say(self, text):
        print(text, file=sys.stderr, flush=True)

    def prepare(self):
        tok = self.base / "tokenizer" / "tokenizer.json"
        shards = self.base / "base_data" / "index.json"
        if tok.exists() and shards.exists() and json.loads(tok.read_text()).get("ranks_count", 0) + 9 == self.a.vocab_size:
            self.say(f"reusing the tokenizer and shards in {self.base}")
            return
        shutil.rmtree(self.base, ignore_errors=True)
        self.say(f"training the tokenizer (vocab {self.a.vocab_size}) and writing shards in {self.base}")
        run_measured([self.nanochat, "run", "tokenizer", "--corpus", self.a.corpus, "--vocab-size",
                      str(self.a.vocab_size)], env=self.env, log=self.logs / "tokenizer.log")
        run_measured([self.nanochat, "run", "data", "--corpus", self.a.corpus], env=self.env,
                     log=self.logs / "data.log")

    def peak(self, tag):
        out, facts = run_measured([self.a.python, HERE / "reference_nanochat.py", "peak", "--repeats",
                                   str(self.a.peak_repeats), "--n", str(self.a.peak_n), "--device", self.a.device],
                                  log=self.logs / f"peak_{tag}.log")
        rec = next(r for r in json_lines(out) if r.get("kind") == "peak")
        rec["facts"] = facts
        self.say(f"peak ({tag}): fp32 {rec['fp32'] / 1e9:.1f} GFLOP/s, bf16 {rec['bf16'] / 1e9:.2f} GFLOP/s "
                 f"(bf16 native: {rec['native_bf16']}; others used {facts['others_cores']:.2f} cores)")
        return rec

    def ours(self, depth, dtype):
        a = self.a
        tag = f"bench_d{depth}_{dtype}"
        log_file = self.logs / f"ours_d{depth}_{dtype}.jsonl"
        log_file.unlink(missing_ok=True)
        cmd = [self.nanochat, "run", "pretrain", "--depth", str(depth), "--max-seq-len", str(a.seq_len),
               "--device-batch-size", str(a.batch), "--total-batch-size", str(a.batch * a.seq_len * a.accum),
               "--num-iterations", str(a.steps), "--eval-every", "-1", "--sample-every", "-1",
               "--device", a.device, "--dtype", dtype, "--model-tag", tag, "--log-file", str(log_file)]
        _, facts = run_measured(cmd, env=self.env, log=self.logs / f"ours_d{depth}_{dtype}.log")
        shutil.rmtree(self.base / "base_checkpoints" / tag, ignore_errors=True)  # the final save
        steps = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
        timed = [s for s in steps if s["step"] >= a.warmup]
        dt = statistics.median(s["dt"] for s in timed)
        best = min(s["dt"] for s in timed)
        tokens = a.batch * a.seq_len * a.accum
        return dict(tok_per_sec=tokens / dt, median_dt=dt, best_tok_per_sec=tokens / best, best_dt=best,
                    steps=len(timed),
                    dts=[round(s["dt"], 3) for s in steps], facts=facts)

    def ref(self, depth, dtype, compile_mode="none", ns_dtype="auto", steps=None, warmup=None):
        a = self.a
        cmd = [a.python, HERE / "reference_nanochat.py", "train", "--depth", str(depth), "--max-seq-len",
               str(a.seq_len), "--device-batch-size", str(a.batch), "--total-batch-size",
               str(a.batch * a.seq_len * a.accum), "--num-iterations", str(steps or a.steps), "--warmup",
               str(warmup if warmup is not None else a.warmup), "--vocab-size", str(a.vocab_size), "--dtype", dtype,
               "--compile", compile_mode, "--ns-dtype", ns_dtype, "--device", a.device]
        out, facts = run_measured(cmd, log=self.logs / f"ref_d{depth}_{dtype}_{compile_mode}_{ns_dtype}.log")
        recs = list(json_lines(out))
        summary = next(r for r in recs if r.get("kind") == "summary")
        config = next(r for r in recs if r.get("kind") == "config")
        steps_ = [r for r in recs if "step" in r]
        summary["dts"] = [round(r["dt"], 3) for r in steps_]
        timed = [r for r in steps_ if r["step"] >= (warmup if warmup is not None else a.warmup)]
        best = min(timed, key=lambda r: r["dt"])
        summary["best_dt"] = best["dt"]
        summary["best_tok_per_sec"] = best["tok_per_sec"]
        summary["best_step"] = best
        summary["config"] = config
        summary["facts"] = facts
        return summary

    def run(self):
        a = self.a
        self.prepare()
        if a.prepare_only:
            return
        peaks = [self.peak("before")]
        native_bf16 = peaks[0]["native_bf16"]
        order = 0
        for depth in a.depths:
            for dtype in a.dtypes:
                row = dict(depth=depth, dtype=dtype, fpt=flops_per_token(depth, a.vocab_size, a.seq_len),
                           ns_flops=newton_schulz_flops(depth))
                if dtype == "bf16" and not native_bf16 and a.bf16 != "on":
                    row["skipped"] = ("this CPU has no bf16 matmul PyTorch can use (oneDNN bf16 unsupported): "
                                      "a bf16 matmul runs PyTorch's scalar fallback, "
                                      f"{peaks[0]['bf16'] / 1e9:.2f} GFLOP/s vs {peaks[0]['fp32'] / 1e9:.0f} fp32")
                    self.say(f"d{depth} {dtype}: skipped ({row['skipped']})")
                    self.results.append(row)
                    continue
                jobs = [("ours", lambda: self.ours(depth, dtype)), ("ref", lambda: self.ref(depth, dtype))]
                if order % 2:
                    jobs.reverse()
                order += 1
                if a.compile == "on":
                    jobs.append(("ref_compiled", lambda: self.ref(depth, dtype, compile_mode="all",
                                                                  warmup=max(2, a.warmup))))
                for name, job in jobs:
                    self.say(f"d{depth} {dtype}: {name} ...")
                    row[name] = job()
                    f = row[name]["facts"]
                    self.say(f"d{depth} {dtype}: {name} {row[name]['tok_per_sec']:.0f} tok/s "
                             f"(median dt {row[name]['median_dt']:.2f}s; others used {f['others_cores']:.2f} "
                             f"of {f['ncpu']} cores, load {f['load_before']:.1f}->{f['load_after']:.1f})")
                self.results.append(row)
        faithful = None
        if a.faithful_ns == "on" and not native_bf16:
            self.say("d4 fp32: nanochat as written (Newton-Schulz in bf16) ...")
            faithful = self.ref(a.depths[0], "fp32", ns_dtype="bf16", steps=2, warmup=1)
        peaks.append(self.peak("after"))
        peak = {k: max(p[k] for p in peaks) for k in ("fp32", "bf16")}
        if a.peak_flops > 0:
            peak = {k: a.peak_flops for k in peak}
        self.report(peaks, peak, faithful)

    def report(self, peaks, peak, faithful):
        a = self.a
        w = sys.stdout.write
        w(f"\nnanochat-cpp pretraining benchmark: T={a.seq_len}, B={a.batch}, grad accum {a.accum} "
          f"({a.batch * a.seq_len * a.accum} tokens/step), vocab {a.vocab_size}, {a.steps} steps, median of steps "
          f">= {a.warmup}; {os.cpu_count()} CPUs\n")
        w(f"matmul peak ({a.peak_n}², best of {a.peak_repeats}, before/after, same PyTorch, {peaks[0]['device']}): fp32 "
          f"{peaks[0]['fp32'] / 1e9:.1f}/{peaks[1]['fp32'] / 1e9:.1f} GFLOP/s, bf16 {peaks[0]['bf16'] / 1e9:.2f}/"
          f"{peaks[1]['bf16'] / 1e9:.2f} GFLOP/s ({peaks[0]['bf16_n']}², native bf16: {peaks[0]['native_bf16']})\n")
        if a.peak_flops > 0:
            w(f"MFU below is against --peak-flops {a.peak_flops:.4g} FLOP/s, not the measured peak\n")
        w("\n")
        head = ("depth dtype | tok/s: ours    ref eager  ref compiled | ours/eager  ours/compiled | ours MFU  ref MFU"
                " | others' cores ours/eager/compiled\n")
        w("median of the timed steps (best single step below)\n" + head)
        w("-" * (len(head) - 1) + "\n")
        lines_best = []
        for r in self.results:
            if "skipped" in r:
                w(f"d{r['depth']:<4} {r['dtype']:<5} | skipped: {r['skipped']}\n")
                continue
            o, e, c = r["ours"], r["ref"], r.get("ref_compiled")
            pk = peak[r["dtype"]]
            for key, out in (("tok_per_sec", w), ("best_tok_per_sec", lines_best.append)):
                mfu_o = r["fpt"] * o[key] / pk * 100
                mfu_e = r["fpt"] * e[key] / pk * 100
                ct = f"{c[key]:12.0f}" if c else f"{'-':>12}"
                cr = f"{o[key] / c[key]:12.2f}x" if c else f"{'-':>13}"
                cores = f"{o['facts']['others_cores']:.2f}/{e['facts']['others_cores']:.2f}" + (
                    f"/{c['facts']['others_cores']:.2f}" if c else "")
                out(f"d{r['depth']:<4} {r['dtype']:<5} | {o[key]:10.0f} {e[key]:12.0f} {ct} | "
                    f"{o[key] / e[key]:9.2f}x {cr} | {mfu_o:7.1f}% {mfu_e:7.1f}% | {cores}\n")
        if lines_best:
            w("\nbest single timed step of each run (least disturbed by other processes)\n" + head)
            w("-" * (len(head) - 1) + "\n")
            for line in lines_best:
                w(line)
        w("\nMFU = FLOPs/token (SPEC: 6·(N−N_wte) + 12·L·H·hd·T) × tok/s ÷ the peak of that dtype; "
          "Muon's Newton–Schulz FLOPs are not counted (per step, vs the model's):\n")
        for r in self.results:
            if "skipped" not in r:
                step_flops = r["fpt"] * a.batch * a.seq_len * a.accum
                pk = peak[r["dtype"]]
                util = {k: 100 * (step_flops + r["ns_flops"]) / r[k]["median_dt"] / pk
                        for k in ("ours", "ref", "ref_compiled") if k in r}
                w(f"  d{r['depth']} {r['dtype']}: Newton–Schulz {r['ns_flops'] / 1e9:.1f} GFLOP/step = "
                  f"{100 * r['ns_flops'] / step_flops:.0f}% of the model's {step_flops / 1e9:.1f}; counting it, "
                  "matmul utilization (median step) " + ", ".join(f"{k} {v:.0f}%" for k, v in util.items()) + "\n")
        phases = [r for r in self.results if "ref" in r and "fwd" in r["ref"]]
        if phases:
            w("\nreference step in seconds, forward / backward / AdamW / Muon: median of each | best step\n")
            for r in phases:
                for k in ("ref", "ref_compiled"):
                    if k not in r or "fwd" not in r[k]:
                        continue
                    e, b = r[k], r[k]["best_step"]
                    w(f"  d{r['depth']} {r['dtype']} {k:<12}: {e['fwd']:.2f} / {e['bwd']:.2f} / {e['adamw']:.3f} / "
                      f"{e['muon']:.2f} | {b['fwd']:.2f} / {b['bwd']:.2f} / {b['adamw']:.3f} / {b['muon']:.2f} "
                      f"(whole step {e['median_dt']:.2f} | {e['best_dt']:.2f})\n")
                w(f"  d{r['depth']} {r['dtype']} ours        : whole step {r['ours']['median_dt']:.2f} | "
                  f"{r['ours']['best_dt']:.2f}\n")
        if faithful:
            w(f"\nnanochat as written on this CPU (Newton–Schulz in bf16, scalar fallback): d{faithful['config']['depth']} "
              f"fp32 {faithful['tok_per_sec']:.0f} tok/s, its Muon step {faithful.get('muon', float('nan')):.1f} s\n")
        disturbed = [f"d{r['depth']} {r['dtype']} {k} ({r[k]['facts']['others_cores']:.2f} cores)" for r in self.results
                     for k in ("ours", "ref", "ref_compiled") if k in r and r[k]["facts"]["others_cores"] > 0.2]
        if disturbed:
            w("\nWARNING: other processes took CPU during " + ", ".join(disturbed) + ": with 2 OpenMP threads per "
              "side on a loaded machine step times inflate several-fold (the reference's many small Muon matmuls "
              "worst); rerun those on a quiet machine (DEPTHS=..., DTYPES=...) before quoting ratios\n")
        loads = [(r[k]["facts"]["load_before"], r[k]["facts"]["load_after"]) for r in self.results
                 for k in ("ours", "ref", "ref_compiled") if k in r]
        if loads:
            flat = [x for pair in loads for x in pair]
            w(f"\n1-minute load average around the runs: {min(flat):.1f} .. {max(flat):.1f} on {os.cpu_count()} CPUs\n")
        out = self.work / "results.json"
        out.write_text(json.dumps(dict(args=vars(a), peaks=peaks, rows=self.results, faithful=faithful), indent=1,
                                  default=str))
        w(f"raw results: {out}; logs: {self.logs}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--python", required=True, help="the PyTorch 2.11.0 interpreter for the reference")
    ap.add_argument("--work", required=True, help="base dir, logs, results")
    ap.add_argument("--depths", type=int, nargs="+", default=[4, 6, 8])
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--vocab-size", type=int, default=65536)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--accum", type=int, default=1)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--compile", choices=("on", "off"), default="on")
    ap.add_argument("--bf16", choices=("auto", "on"), default="auto",
                    help="auto: skip bf16 rows where the CPU has no native bf16 matmul")
    ap.add_argument("--faithful-ns", choices=("on", "off"), default="on",
                    help="also time nanochat's bf16 Newton-Schulz as written, where bf16 is not native")
    ap.add_argument("--peak-repeats", type=int, default=8)
    ap.add_argument("--peak-n", type=int, default=2048, help="matmul size of the peak measurement (8192 on a GPU)")
    ap.add_argument("--peak-flops", type=float, default=0.0,
                    help="MFU against this FLOP/s instead of the measured peak (989e12: nanochat's H100 bf16)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where both sides train")
    ap.add_argument("--prepare-only", action="store_true", help="make the tokenizer and shards in WORK, then stop")
    Bench(ap.parse_args()).run()


if __name__ == "__main__":
    main()

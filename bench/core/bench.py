#!/usr/bin/env python3
"""CORE benchmark driver; bench/core/run.sh calls it.

Times, one run at a time on the same checkpoint and the same items,
  ours: `nanochat run eval --kind core --max-problems N` (a shared prefix once into a KV
        cache, the options after it in one batch, only span positions through the head), and
  ref:  reference_core.py eval (nanochat's core_eval.py in PyTorch: one padded batch of
        every option whole per item, nanochat's GPT from bench/pretrain/reference_nanochat.py),
and prints items/s (items of all tasks ÷ the seconds of all tasks; a task's time is loading
its data, rendering, tokenizing and scoring its items on both sides, as base_eval times it;
the model load is left out) per task and overall, and the ratio (target: >= 2x). As a check
that both scored the same items, the correct counts of every task are compared.

The tokenizer, shards and the base checkpoint (--base-steps of pretraining at --depth) stay
in WORK between runs. Load is measured around each run as bench/pretrain/bench.py does (its
helpers are imported, not copied). Only the Python standard library is used here.
"""
import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pretrain"))  # first: this file is also named bench.py
import bench as pretrain_bench  # noqa: E402


class CoreBench(pretrain_bench.Bench):
    def base_checkpoint(self):
        a = self.a
        tag = f"core_d{a.depth}"
        ckpt_dir = self.base / "base_checkpoints" / tag
        models = sorted(ckpt_dir.glob("model_*.safetensors"))
        if not models:
            self.say(f"d{a.depth}: pretraining {a.base_steps} steps for the base checkpoint")
            pretrain_bench.run_measured(
                [self.nanochat, "run", "pretrain", "--depth", str(a.depth), "--max-seq-len", str(a.seq_len),
                 "--device-batch-size", "2", "--total-batch-size", str(2 * a.seq_len), "--num-iterations",
                 str(a.base_steps), "--eval-every", "-1", "--eval-tokens", str(2 * a.seq_len), "--sample-every",
                 "-1", "--device", a.device, "--model-tag", tag], env=self.env, log=self.logs / "pretrain.log")
            models = sorted(ckpt_dir.glob("model_*.safetensors"))
        if not models:
            raise SystemExit(f"no model_*.safetensors in {ckpt_dir} after pretraining")
        return tag, models[-1]

    def ours(self, tag, run):
        a = self.a
        cmd = [self.nanochat, "run", "eval", "--kind", "core", "--max-problems", str(a.max_problems), "--model-tag",
               tag, "--device", a.device, "--device-batch-size", str(a.batch), "--data-dir", a.data]
        _, facts = pretrain_bench.run_measured(cmd, env=self.env, log=self.logs / f"ours_r{run}.log")
        result = json.loads((self.base / "eval" / "base-core.json").read_text())
        tasks = {t["name"]: dict(correct=t["correct"], items=t["items"], seconds=t["seconds"]) for t in result["tasks"]}
        return dict(tasks=tasks, core=next(iter(result["summary"].values())), facts=facts)

    def ref(self, checkpoint, run):
        a = self.a
        cmd = [a.python, HERE / "reference_core.py", "eval", "--data", a.data, "--tokenizer", self.base / "tokenizer",
               "--checkpoint", checkpoint, "--max-problems", str(a.max_problems), "--device", a.device,
               "--threads", str(os.cpu_count() or 1)]
        out, facts = pretrain_bench.run_measured(cmd, log=self.logs / f"ref_r{run}.log")
        recs = list(pretrain_bench.json_lines(out))
        tasks = {r["name"]: dict(correct=r["correct"], items=r["items"], seconds=r["seconds"])
                 for r in recs if r.get("kind") == "task"}
        summary = next(r for r in recs if r.get("kind") == "summary")
        return dict(tasks=tasks, core=summary["core"], facts=facts, config=summary)

    def run(self):
        self.prepare()
        tag, checkpoint = self.base_checkpoint()
        for run in range(self.a.rounds):
            jobs = [("ours", lambda: self.ours(tag, run)), ("ref", lambda: self.ref(checkpoint, run))]
            if run % 2:
                jobs.reverse()
            result = {}
            for name, job in jobs:
                self.say(f"round {run + 1}/{self.a.rounds}: {name} ...")
                result[name] = r = job()
                f = r["facts"]
                self.say(f"{name}: {items_per_sec(r):.2f} items/s (others used {f['others_cores']:.2f} of "
                         f"{f['ncpu']} cores, load {f['load_before']:.1f}->{f['load_after']:.1f})")
            self.results.append(result)
        self.report()

    def report(self):
        a = self.a
        w = sys.stdout.write
        first = self.results[0]
        w(f"\nnanochat-cpp CORE benchmark: depth {a.depth}, vocab {a.vocab_size}, sequence_len {a.seq_len}, "
          f"--max-problems {a.max_problems} ({sum(t['items'] for t in first['ours']['tasks'].values())} items over "
          f"{len(first['ours']['tasks'])} tasks), {a.device}, {a.rounds} round(s) (median of them)\n")
        w(f"reference: nanochat's core_eval.py restated (bench/core/reference_core.py), torch "
          f"{first['ref']['config']['torch']}, {first['ref']['config']['threads']} threads; ours: all cores too\n\n")
        head = f"{'task':<34} {'items':>5} | items/s: {'ours':>8} {'ref':>8} | ratio | correct ours/ref\n"
        w(head + "-" * (len(head) - 1) + "\n")
        mismatches = []
        for name, t in first["ours"]["tasks"].items():
            ours = statistics.median(r["ours"]["tasks"][name]["items"] / r["ours"]["tasks"][name]["seconds"] for r in self.results)
            ref = statistics.median(r["ref"]["tasks"][name]["items"] / r["ref"]["tasks"][name]["seconds"] for r in self.results)
            rt = first["ref"]["tasks"].get(name, {})
            w(f"{name:<34} {t['items']:>5} | {ours:17.2f} {ref:8.2f} | {ours / ref:4.2f}x | {t['correct']}/{rt.get('correct')}\n")
            if rt.get("correct") != t["correct"]:
                mismatches.append(name)
        ours_all = statistics.median(items_per_sec(r["ours"]) for r in self.results)
        ref_all = statistics.median(items_per_sec(r["ref"]) for r in self.results)
        w(f"{'all':<34} {'':>5} | {ours_all:17.2f} {ref_all:8.2f} | {ours_all / ref_all:4.2f}x |\n")
        w(f"\nCORE items/s: ours {ours_all:.2f}, reference {ref_all:.2f}, ratio {ours_all / ref_all:.2f}x (target >= 2x)\n")
        w(f"score: ours {first['ours']['core']:.4f}, reference {first['ref']['core']:.4f}\n")
        if mismatches:
            w("WARNING: correct counts differ in " + ", ".join(mismatches) + " (near-tied options can flip between "
              "the paths' float sums; many differences mean different items)\n")
        else:
            w("same items: every task's correct count agrees on both sides\n")
        disturbed = [f"round {i + 1} {k}" for i, r in enumerate(self.results) for k in ("ours", "ref")
                     if r[k]["facts"]["others_cores"] > 0.2]
        if disturbed:
            w("WARNING: other processes took CPU during " + ", ".join(disturbed) + "; rerun on a quiet machine "
              "before quoting ratios\n")
        out = self.work / "results.json"
        out.write_text(json.dumps(dict(args=vars(a), rounds=self.results), indent=1, default=str))
        w(f"raw results: {out}; logs: {self.logs}\n")


def items_per_sec(side):
    tasks = side["tasks"].values()
    return sum(t["items"] for t in tasks) / sum(t["seconds"] for t in tasks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--corpus", required=True, help="text for the tokenizer and the checkpoint's shards")
    ap.add_argument("--data", required=True, help="the shared data folder (eval_core/, eval_hellaswag/)")
    ap.add_argument("--python", required=True, help="the PyTorch 2.11.0 interpreter for the reference")
    ap.add_argument("--work", required=True, help="base dir, logs, results")
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--seq-len", type=int, default=512, help="the checkpoint's sequence_len (positions: 10x)")
    ap.add_argument("--max-problems", type=int, default=20, help="items per task (-1: all)")
    ap.add_argument("--batch", type=int, default=32, help="our --device-batch-size")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--base-steps", type=int, default=20, help="pretraining steps of the checkpoint")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (both sides)")
    CoreBench(ap.parse_args()).run()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SFT benchmark driver (issue 9); bench/sft/run.sh calls it.

For each depth, one run at a time, it times
  ours: `nanochat run sft --source base` from a short base checkpoint of that depth, and
  ref:  reference_sft.py (nanochat's chat_sft step on nanochat's GPT + Muon + AdamW from
        bench/pretrain/reference_nanochat.py), eager as chat_sft runs, and torch.compile'd
        (dynamic=True: the padded lengths change every micro-batch),
on the same weights and the same padded micro-batches, and prints optimizer steps/s (1 /
the median step time after the warm-up) and the ratio.

The batches are made equal by construction: `nanochat tasks show MIXTURE --ids` prints the
conversations of the mixture in the order `run sft` trains on them (same TaskMixture, same
seed 42, same render cut at max_seq_len+1 tokens), with their token ids and loss masks; the
driver keeps the rows `run sft` keeps (some trained token after the first) and hands them to
the reference, which pads each micro-batch as chat_sft does. As a check, it compares the
padded tokens of every step and the loss of step 0 (same weights, same batch) on both sides.

The tokenizer, shards, base checkpoints and rows stay in WORK between runs. Load is measured
around each run as bench/pretrain/bench.py does (its helpers are imported, not copied).
Only the Python standard library is used here.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pretrain"))  # first: this file is also named bench.py
import bench as pretrain_bench  # noqa: E402

ASSISTANT_END = 4  # <|assistant_end|>'s place among the specials after the merges (SPEC §2)


def cpu_flags():
    """The vector and matrix extensions of this CPU that PyTorch's kernels may use."""
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        flags = []
    have = [w for w in wanted if w in flags]
    return ", ".join(have) if have else "none of " + "/".join(wanted)


class SftBench(pretrain_bench.Bench):
    def rows_per_run(self):
        return self.a.steps * self.a.examples_per_step

    def base_checkpoint(self, depth):
        """A base checkpoint of this depth from a few pretraining steps (the weights both sides load)."""
        a = self.a
        tag = f"b{depth}"
        ckpt_dir = self.base / "base_checkpoints" / tag
        models = sorted(ckpt_dir.glob("model_*.safetensors"))
        if not models:
            self.say(f"d{depth}: pretraining {a.base_steps} steps for the base checkpoint")
            pretrain_bench.run_measured(
                [self.nanochat, "run", "pretrain", "--depth", str(depth), "--max-seq-len", str(a.seq_len),
                 "--device-batch-size", "2", "--total-batch-size", str(2 * a.seq_len), "--num-iterations",
                 str(a.base_steps), "--eval-every", "-1", "--eval-tokens", str(2 * a.seq_len), "--sample-every", "-1", "--device", "cpu", "--dtype",
                 "fp32", "--model-tag", tag], env=self.env, log=self.logs / f"pretrain_d{depth}.log")
            models = sorted(ckpt_dir.glob("model_*.safetensors"))
        if not models:
            raise SystemExit(f"no model_*.safetensors in {ckpt_dir} after pretraining")
        return tag, models[-1]

    def dump_rows(self):
        """The mixture's first rendered conversations as `run sft` takes them, into rows.json."""
        a = self.a
        out = self.work / "rows.json"
        ranks = json.loads((self.base / "tokenizer" / "tokenizer.json").read_text())["ranks_count"]
        # Twice what the steps take: rows without a trained token are dropped, as `run sft` drops them.
        text, _ = pretrain_bench.run_measured(
            [self.nanochat, "tasks", "show", a.mixture, "--split", "train", "-n", str(2 * self.rows_per_run()),
             "--max-tokens", str(a.seq_len + 1), "--ids", "--task-data-dir", a.task_data_dir],
            env=self.env, log=self.logs / "tasks_show.log")
        rows = []
        for line in text.splitlines():
            if not line.startswith("[ids/mask] "):
                continue
            pairs = [p.split("/") for p in line[len("[ids/mask] "):].split()]
            ids, mask = [int(i) for i, _ in pairs], [int(m) for _, m in pairs]
            if 1 in mask[1:]:
                rows.append(dict(ids=ids, mask=mask))
        if len(rows) < self.rows_per_run():
            raise SystemExit(f"`nanochat tasks show {a.mixture}` gave {len(rows)} trainable rows, fewer than "
                             f"{self.rows_per_run()} (see {self.logs / 'tasks_show.log'})")
        out.write_text(json.dumps(dict(pad=ranks + ASSISTANT_END, rows=rows[:self.rows_per_run()])))
        return out

    def ours(self, depth, tag, run):
        a = self.a
        log_file = self.logs / f"ours_d{depth}_r{run}.jsonl"
        log_file.unlink(missing_ok=True)
        cmd = [self.nanochat, "run", "sft", "--source", "base", "--model-tag", tag, "--device", "cpu", "--dtype",
               "fp32", "--num-iterations", str(a.steps), "--eval-every", "-1", "--device-batch-size",
               str(a.batch), "--target-examples-per-step", str(a.examples_per_step), "--max-seq-len",
               str(a.seq_len), "--task-data-dir", a.task_data_dir, "--mixture", a.mixture,
               # the evaluation at the end is not timed; keep it small
               "--val-mixture", a.val_mixture, "--eval-examples", str(a.batch), "--log-file", str(log_file)]
        _, facts = pretrain_bench.run_measured(cmd, env=self.env, log=self.logs / f"ours_d{depth}_r{run}.log")
        shutil.rmtree(self.base / "chatsft_checkpoints" / tag, ignore_errors=True)  # the final save
        steps = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
        dt = statistics.median(s["dt"] for s in steps if s["step"] >= a.warmup)
        return dict(median_dt=dt, steps_per_sec=1 / dt, step0_loss=steps[0]["loss"],
                    tokens=[round(s["tok_per_sec"] * s["dt"]) for s in steps],
                    dts=[round(s["dt"], 3) for s in steps], facts=facts)

    def ref_sft(self, depth, checkpoint, rows, compile_mode, run):
        a = self.a
        cmd = [a.python, HERE / "reference_sft.py", "--checkpoint", checkpoint, "--rows", rows, "--depth",
               str(depth), "--vocab-size", str(a.vocab_size), "--max-seq-len", str(a.seq_len),
               "--device-batch-size", str(a.batch), "--examples-per-step", str(a.examples_per_step),
               "--num-iterations", str(a.steps), "--warmup", str(a.warmup), "--compile", compile_mode,
               "--threads", str(os.cpu_count() or 1)]
        out, facts = pretrain_bench.run_measured(cmd, log=self.logs / f"ref_d{depth}_{compile_mode}_r{run}.log")
        recs = list(pretrain_bench.json_lines(out))
        steps = [r for r in recs if "step" in r]
        summary = next(r for r in recs if r.get("kind") == "summary")
        return dict(median_dt=summary["median_dt"], steps_per_sec=1 / summary["median_dt"],
                    step0_loss=next(r for r in recs if r.get("kind") == "check")["step0_loss"],
                    tokens=[r["tokens"] for r in steps], dts=[round(r["dt"], 3) for r in steps],
                    config=next(r for r in recs if r.get("kind") == "config"), facts=facts)

    def run(self):
        a = self.a
        self.prepare()
        rows = self.dump_rows()
        for depth in a.depths:
            tag, checkpoint = self.base_checkpoint(depth)
            row = dict(depth=depth, runs=[])
            for run in range(a.rounds):
                jobs = [("ours", lambda: self.ours(depth, tag, run)),
                        ("ref", lambda: self.ref_sft(depth, checkpoint, rows, "none", run))]
                if (run + depth) % 2:
                    jobs.reverse()
                if a.compile == "on":
                    jobs.append(("ref_compiled", lambda: self.ref_sft(depth, checkpoint, rows, "all", run)))
                result = {}
                for name, job in jobs:
                    self.say(f"d{depth} round {run + 1}/{a.rounds}: {name} ...")
                    result[name] = r = job()
                    f = r["facts"]
                    self.say(f"d{depth}: {name} {r['steps_per_sec']:.3f} steps/s (median dt {r['median_dt']:.2f}s, "
                             f"dts {r['dts']}; others used {f['others_cores']:.2f} of {f['ncpu']} cores, "
                             f"load {f['load_before']:.1f}->{f['load_after']:.1f})")
                row["runs"].append(result)
            self.results.append(row)
        self.report()

    def report(self):
        a = self.a
        w = sys.stdout.write
        w(f"\nnanochat-cpp SFT benchmark: {a.mixture}, {a.examples_per_step} conversations/step in micro-batches of "
          f"{a.batch} (padded to the longest), max {a.seq_len}+1 tokens, vocab {a.vocab_size}, fp32, CPU, "
          f"{a.steps} steps, median of steps >= {a.warmup}, {a.rounds} round(s) (median of them)\n")
        w(f"CPU: {os.cpu_count()} CPUs, {cpu_flags()}; threads: all CPUs on both sides\n")
        w("reference: nanochat's chat_sft step; eager as chat_sft runs it, compiled = torch.compile(model, "
          "dynamic=True) + compiled Newton-Schulz\n\n")
        head = ("depth | steps/s: ours  ref eager  ref compiled | ours/eager  ours/compiled | step-0 loss ours / ref"
                " | others' cores ours/eager/compiled\n")
        w(head + "-" * (len(head) - 1) + "\n")
        mismatches = []
        for r in self.results:
            sps = {k: statistics.median(run[k]["steps_per_sec"] for run in r["runs"])
                   for k in ("ours", "ref", "ref_compiled") if k in r["runs"][0]}
            c = sps.get("ref_compiled")
            first = r["runs"][0]
            cores = "/".join(f"{max(run[k]['facts']['others_cores'] for run in r['runs']):.2f}" for k in sps)
            w(f"d{r['depth']:<4} | {sps['ours']:13.3f} {sps['ref']:10.3f} " + (f"{c:13.3f}" if c else f"{'-':>13}") +
              f" | {sps['ours'] / sps['ref']:9.2f}x " + (f"{sps['ours'] / c:13.2f}x" if c else f"{'-':>14}") +
              f" | {first['ours']['step0_loss']:.5f} / {first['ref']['step0_loss']:.5f} | {cores}\n")
            for run in r["runs"]:
                for k in sps:
                    if run[k]["tokens"] != run["ours"]["tokens"]:
                        mismatches.append(f"d{r['depth']} {k}: tokens/step {run[k]['tokens']} vs ours "
                                          f"{run['ours']['tokens']}")
                loss_o, loss_r = run["ours"]["step0_loss"], run["ref"]["step0_loss"]
                if abs(loss_o - loss_r) > 1e-3 * abs(loss_r):
                    mismatches.append(f"d{r['depth']}: step-0 loss {loss_o} vs the reference's {loss_r}")
        w("\ntarget (issue 9): ours/eager and ours/compiled >= 1.3x\n")
        if mismatches:
            w("WARNING: the two sides did not train on the same batches: " + "; ".join(mismatches) + "\n")
        else:
            w("same batches: the padded tokens of every step and the step-0 loss agree on both sides\n")
        disturbed = [f"d{r['depth']} {k}" for r in self.results for run in r["runs"] for k in run
                     if run[k]["facts"]["others_cores"] > 0.2]
        if disturbed:
            w("WARNING: other processes took CPU during " + ", ".join(disturbed) + "; rerun on a quiet machine "
              "before quoting ratios\n")
        out = self.work / "results.json"
        out.write_text(json.dumps(dict(args=vars(a), rows=self.results), indent=1, default=str))
        w(f"raw results: {out}; logs: {self.logs}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--corpus", required=True, help="text for the tokenizer and the base checkpoint's shards")
    ap.add_argument("--task-data-dir", required=True, help="the shared data folder of the tasks")
    ap.add_argument("--python", required=True, help="the PyTorch 2.11.0 interpreter for the reference")
    ap.add_argument("--work", required=True, help="base dir, rows, logs, results")
    ap.add_argument("--depths", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--mixture", default="gsm8k,arc-easy,identity")
    ap.add_argument("--val-mixture", default="gsm8k:test")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4, help="device batch size (rows per micro-batch)")
    ap.add_argument("--examples-per-step", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--base-steps", type=int, default=2, help="pretraining steps of the base checkpoint")
    ap.add_argument("--compile", choices=("on", "off"), default="on")
    SftBench(ap.parse_args()).run()


if __name__ == "__main__":
    main()

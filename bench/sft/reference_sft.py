#!/usr/bin/env python3
"""The peer of bench/sft: nanochat's chat_sft.py training step, in PyTorch, on our batches.

The model, Muon and AdamW are bench/pretrain/reference_nanochat.py's (nanochat's classic GPT
and optimizers restated in PyTorch), imported, not copied. This file adds chat_sft's loop:

- weights: a checkpoint of ours (model_*.safetensors; its names are nanochat's state_dict
  names), loaded strictly into nanochat's GPT of the same depth and vocabulary;
- optimizers: nanochat's setup_optimizers (lm_head 0.004·s, wte 0.2·s, Muon 0.02), every
  group's lr × init_lr_frac (0.02) as its initial_lr; Muon's momentum stays 0.95 (chat_sft
  has no ramp);
- batches: the rendered conversations in --rows (ids and masks in the mixture's order, from
  `nanochat tasks show`), taken device_batch_size at a time, each micro-batch padded with
  <|assistant_end|> to its longest row; targets are ids[1:], −1 where mask[1:] is 0 and on
  padding — chat_sft's collate, and the rows our `nanochat run sft` takes in the same order;
- step: per micro-batch loss = model(x, y) (mean over the valid targets), loss / grad_accum,
  backward; lrm = 1 − step/num_steps on both optimizers; AdamW then Muon step; zero_grad;
  loss.item(). dt is around all of it, as nanochat's.

chat_sft runs the model eager (its torch.compile line is commented out: the padded lengths
change every micro-batch). --compile all is the "compiled" variant the benchmark also asks
for: torch.compile(model, dynamic=True), dynamic because of those lengths, plus nanochat's
@torch.compile on Newton–Schulz.

Each step prints a JSON line with dt and the padded tokens of the step. To check that both
sides train on the same batches, a "check" line first gives step 0's loss on the loaded
weights as the mean over all of the step's trained tokens (what our side logs; nanochat
itself prints the last micro-batch's mean), computed before the timed steps.
"""
import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pretrain"))
import reference_nanochat as ref  # noqa: E402


def load_weights(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def micro_batches(rows, pad, batch_size):
    """chat_sft's collate over consecutive rows: pad to the longest, targets −1 off the mask."""
    for first in range(0, len(rows) - batch_size + 1, batch_size):
        group = rows[first:first + batch_size]
        columns = max(max(len(r["ids"]) for r in group), 2) - 1
        inputs = torch.full((batch_size, columns), pad, dtype=torch.long)
        targets = torch.full((batch_size, columns), -1, dtype=torch.long)
        for i, r in enumerate(group):
            ids, mask = torch.tensor(r["ids"]), torch.tensor(r["mask"])
            n = len(r["ids"]) - 1
            inputs[i, :n] = ids[:-1]
            targets[i, :n] = torch.where(mask[1:] == 1, ids[1:], -1)
        yield inputs, targets


@torch.no_grad()
def step_loss(model, batches):
    """The mean loss over all trained tokens of these micro-batches (before any update)."""
    total, count = 0.0, 0
    for x, y in batches:
        valid = int((y >= 0).sum())
        total += model(x, y).item() * valid
        count += valid
    return total / count


def train(args):
    if args.ns_dtype == "fp32" or (args.ns_dtype == "auto" and not ref.native_bf16()):
        ref.NS_DTYPE = torch.float32
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    data = json.loads(Path(args.rows).read_text())
    grad_accum = args.examples_per_step // args.device_batch_size
    batches = list(micro_batches(data["rows"], data["pad"], args.device_batch_size))
    if len(batches) < args.num_iterations * grad_accum:
        raise SystemExit(f"{args.rows} has {len(data['rows'])} rows, fewer than {args.num_iterations} steps need")

    model = ref.GPT(args.depth, args.vocab_size, args.max_seq_len)
    model.load_state_dict(load_weights(args.checkpoint), strict=True)
    optimizers = model.setup_optimizers()
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["lr"] * args.init_lr_frac
            group["initial_lr"] = group["lr"]
    print(json.dumps(dict(kind="check", step0_loss=step_loss(model, batches[:grad_accum]))), flush=True)
    orig_model = model
    if args.compile == "all":
        model = torch.compile(model, dynamic=True)
        ref._newton_schulz = torch.compile(ref.zeropower_via_newtonschulz5)
    print(json.dumps(dict(kind="config", depth=args.depth, vocab=args.vocab_size, params=orig_model.num_params(),
                          grad_accum=grad_accum, compile=args.compile, threads=torch.get_num_threads(),
                          ns_dtype=str(ref.NS_DTYPE).replace("torch.", ""), torch=torch.__version__)), flush=True)
    dts = []
    for step in range(args.num_iterations):
        t0 = time.perf_counter()
        step_batches = batches[step * grad_accum:(step + 1) * grad_accum]
        for x, y in step_batches:
            loss = model(x, y)
            train_loss = loss.detach()
            loss = loss / grad_accum
            loss.backward()
        lrm = 1.0 - step / args.num_iterations
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * lrm
        for opt in optimizers:
            opt.step()
        model.zero_grad(set_to_none=True)
        train_loss.item()
        dt = time.perf_counter() - t0
        print(json.dumps(dict(step=step, dt=dt, tokens=sum(x.numel() for x, _ in step_batches))), flush=True)
        if step >= args.warmup:
            dts.append(dt)
    print(json.dumps(dict(kind="summary", median_dt=statistics.median(dts), steps_timed=len(dts))), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, help="our model_*.safetensors")
    ap.add_argument("--rows", required=True, help="JSON {pad, rows: [{ids, mask}]} in the mixture's order")
    ap.add_argument("--depth", type=int, required=True)
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--max-seq-len", type=int, default=512)
    ap.add_argument("--device-batch-size", type=int, default=4)
    ap.add_argument("--examples-per-step", type=int, default=8)
    ap.add_argument("--num-iterations", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2, help="steps left out of the median")
    ap.add_argument("--init-lr-frac", type=float, default=0.02)
    ap.add_argument("--compile", choices=("none", "all"), default="none",
                    help="all: torch.compile(model, dynamic=True) and Newton-Schulz compiled")
    ap.add_argument("--ns-dtype", choices=("bf16", "fp32", "auto"), default="auto",
                    help="Newton-Schulz dtype: bf16 as nanochat; auto: bf16 only on native-bf16 CPUs")
    ap.add_argument("--threads", type=int, default=0)
    train(ap.parse_args())


if __name__ == "__main__":
    main()

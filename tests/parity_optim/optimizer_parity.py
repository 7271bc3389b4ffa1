#!/usr/bin/env python3
"""The Python half of the optimizer parity check: takes what optimizer_parity_tool wrote
(parameters and optimizer state, then the gradients of a few steps), runs the same steps
with bench/pretrain/reference_nanochat.py's optimizers (nanochat's setup_optimizers: fused
torch AdamW for lm_head and wte at lr·(d/768)^-1/2, Muon for the block matrices with its
quintic Newton-Schulz in fp32, base_train's lr multiplier and get_muon_momentum ramp), and
compares the parameters and optimizer state with the C++ ones. Prints the max abs
difference of each and exits 1 when one is above the tolerance.

usage: optimizer_parity.py DIR [--tolerance 1e-5]
"""
import argparse
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "pretrain"))
import reference_nanochat as ref  # noqa: E402


def split(tensors, prefix):
    return {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}


def load_state(adamw, muon, params, state, groups):
    """The C++ state names (plugin/group.index.field) into torch optimizers' per-parameter state."""
    for group, names in groups.items():
        for i, name in enumerate(names):
            p = params[name]
            if group == "matrix":
                muon.state[p]["momentum_buffer"] = state[f"muon/{group}.{i}.momentum_buffer"].clone()
            else:
                adamw.state[p] = {field: state[f"adamw/{group}.{i}.{field}"].clone()
                                  for field in ("step", "exp_avg", "exp_avg_sq")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()
    run = json.load(open(os.path.join(args.dir, "run.json")))
    start = load_file(os.path.join(args.dir, "start.safetensors"))
    grads = load_file(os.path.join(args.dir, "steps.safetensors"))
    end = load_file(os.path.join(args.dir, "end.safetensors"))

    ref.NS_DTYPE = torch.float32  # nanochat runs it in bf16; both sides are forced to fp32 here
    model = ref.GPT(run["depth"], run["vocab_size"], run["sequence_len"])
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in split(start, "param/").items():
            params[name].copy_(value)
    adamw, muon = model.setup_optimizers(unembedding_lr=run["unembedding_lr"], embedding_lr=run["embedding_lr"],
                                         matrix_lr=run["matrix_lr"], weight_decay=run["weight_decay"])
    load_state(adamw, muon, params, split(start, "state/"), run["groups"])
    muon_steps = int(split(start, "state/")["muon/step"])
    assert muon_steps == run["warmup_steps"], f"muon/step is {muon_steps}, expected {run['warmup_steps']}"

    # base_train's loop, from the C++ side's step counts.
    for k, lrm in enumerate(run["lr_multipliers"]):
        for opt in (adamw, muon):
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * lrm
        for group in muon.param_groups:
            group["momentum"] = ref.get_muon_momentum(muon_steps + k)
        for name, p in params.items():
            p.grad = grads[f"grad/{k}/{name}"].clone()
        adamw.step()
        muon.step()
        model.zero_grad(set_to_none=True)

    got_params, got_state = split(end, "param/"), split(end, "state/")
    expected_state = {}
    for group, names in run["groups"].items():
        for i, name in enumerate(names):
            if group == "matrix":
                expected_state[f"muon/{group}.{i}.momentum_buffer"] = muon.state[params[name]]["momentum_buffer"]
            else:
                for field in ("step", "exp_avg", "exp_avg_sq"):
                    expected_state[f"adamw/{group}.{i}.{field}"] = adamw.state[params[name]][field]
    worst = 0.0
    failed = []
    rows = [("param " + name, got_params[name], p.detach()) for name, p in params.items()]
    rows += [("state " + name, got_state[name], t) for name, t in expected_state.items()]
    for label, got, expected in rows:
        diff = (got.double() - expected.double()).abs().max().item()
        worst = max(worst, diff)
        print(f"{label:48s} max abs diff {diff:.3e}")
        if not diff <= args.tolerance:
            failed.append(label)
    momenta = [ref.get_muon_momentum(muon_steps + k) for k in range(len(run["lr_multipliers"]))]
    print(f"muon steps {muon_steps}..{muon_steps + len(momenta) - 1}, momentum {', '.join(f'{m:.6f}' for m in momenta)}")
    print(f"optimizer parity: {len(rows)} tensors, max abs diff {worst:.3e} (tolerance {args.tolerance:g})")
    if failed:
        print("FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Oracle for tests/parity/test_schedule_parity: nanochat's numbers computed the way nanochat
computes them, printed as one JSON object for the C++ test to compare with GPTConfig,
training_horizon and lr_multiplier.

- models: nanochat's GPT (bench/pretrain/reference_nanochat.py) built on the meta device for
  each depth; params = sum of its parameters' numel, FLOPs/token = its estimate_flops().
- horizons: base_train's step count (training_horizon) for those models, by data:param ratio
  and by target FLOPs, including a target exactly halfway between two step counts, where
  Python's round() goes to the even one.
- schedules: base_train's get_lr_multiplier at every step for a grid of lengths and ratios
  (including ratios whose step counts land on .5), and the whole d20 run.
"""
import json
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "pretrain"))
import reference_nanochat as ref  # noqa: E402

TOKENS_PER_STEP = 524288  # base_train's total_batch_size


def model_facts(depth, vocab_size, sequence_len):
    with torch.device("meta"):
        model = ref.GPT(depth, vocab_size, sequence_len)
    return dict(depth=depth, vocab_size=vocab_size, sequence_len=sequence_len, n_embd=model.n_embd,
                n_head=model.n_head, padded_vocab_size=model.transformer.wte.weight.size(0),
                num_params=model.num_params(), flops_per_token=model.estimate_flops())


def horizon_cases(models):
    cases = []
    for m in models:
        if m["vocab_size"] != 65536:
            continue
        cases.append(dict(depth=m["depth"], total_batch_size=TOKENS_PER_STEP, target_param_data_ratio=20))
    d20 = next(m for m in models if m["depth"] == 20 and m["vocab_size"] == 65536)
    step_flops = d20["flops_per_token"] * TOKENS_PER_STEP
    cases += [
        dict(depth=20, total_batch_size=TOKENS_PER_STEP, target_param_data_ratio=8.5),
        dict(depth=20, total_batch_size=TOKENS_PER_STEP, target_flops=1e19),
        dict(depth=20, total_batch_size=TOKENS_PER_STEP, target_flops=2.5 * step_flops),  # a tie: 2
        dict(depth=20, total_batch_size=TOKENS_PER_STEP, target_flops=3.5 * step_flops),  # a tie: 4
        dict(depth=20, total_batch_size=TOKENS_PER_STEP, num_iterations=1234),
    ]
    by_depth = {m["depth"]: m for m in models if m["vocab_size"] == 65536}
    for c in cases:
        m = by_depth[c["depth"]]
        c.setdefault("num_iterations", -1)
        c.setdefault("target_flops", -1.0)
        c.setdefault("target_param_data_ratio", -1)
        c["steps"] = ref.training_horizon(m["num_params"], m["flops_per_token"], c["total_batch_size"],
                                          num_iterations=c["num_iterations"], target_flops=c["target_flops"],
                                          target_param_data_ratio=c["target_param_data_ratio"])
    return cases


def schedule(num_iterations, warmup_ratio, warmdown_ratio, final_lr_frac):
    return dict(num_iterations=num_iterations, warmup_ratio=warmup_ratio, warmdown_ratio=warmdown_ratio,
                final_lr_frac=final_lr_frac,
                multipliers=[ref.get_lr_multiplier(it, num_iterations, warmup_ratio, warmdown_ratio, final_lr_frac)
                             for it in range(num_iterations + 1)])


def main():
    models = [model_facts(depth, 65536, 2048) for depth in (2, 4, 12, 20, 26, 32)]
    models.append(model_facts(2, 500, 32))  # padded vocabulary (500 -> 512)
    horizons = horizon_cases(models)
    d20_steps = next(h["steps"] for h in horizons if h["depth"] == 20 and h["target_param_data_ratio"] == 20)
    ratios = [(0.0, 0.2, 0.0), (0.1, 0.2, 0.0), (0.5, 0.5, 0.1), (0.1, 0.3, 0.05), (0.0, 1.0, 0.0)]
    schedules = [schedule(n, *r) for r in ratios for n in list(range(1, 31)) + [101, 1001]]
    schedules.append(schedule(d20_steps, 0.0, 0.2, 0.0))  # base_train's defaults, the whole d20 run
    json.dump(dict(models=models, horizons=horizons, schedules=schedules), sys.stdout)
    print()


if __name__ == "__main__":
    main()

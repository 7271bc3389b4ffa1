#!/usr/bin/env python3
"""Checks bench/pretrain/reference_nanochat.py against nanochat's own code, by hand (not a
CTest: it needs a nanochat checkout, which CI does not have and this repo must not copy).

  reference_vs_nanochat.py NANOCHAT_CHECKOUT DUMP_DIR

NANOCHAT_CHECKOUT: a karpathy/nanochat tree (the reference commit is 10231df), whose
nanochat/gpt.py is imported as is; engine.py's KVCache class is taken from its source alone,
since importing engine.py pulls in the tokenizer. DUMP_DIR: what tests/parity/parity_dump
wrote. nanochat's model is built as base_train builds it (meta device, to_empty,
init_weights after torch.manual_seed) and run on the dump's weights and batch next to the
restatement; prints the largest difference of init, loss, logits, KV-cache logits and
gradients, all of which should be 0 (the same PyTorch operations in the same order), and
exits 1 otherwise.
"""
import argparse
import ast
import json
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "pretrain"))
import reference_nanochat as ref  # noqa: E402


def load(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def nanochat_kv_cache_class(engine_py):
    tree = ast.parse(engine_py.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "KVCache")
    scope = {"torch": torch}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(engine_py), "exec"), scope)
    return scope["KVCache"]


def run(model, make_cache, weights, idx, targets, prefix, chunk):
    """Loss, gradients, logits, and logits through the cache (prefix, chunk, single tokens)."""
    model.load_state_dict(weights, strict=True)
    model.zero_grad(set_to_none=True)
    loss = model(idx, targets)
    loss.backward()
    with torch.no_grad():
        logits = model(idx)
    T = idx.size(1)
    with torch.inference_mode():
        cache = make_cache(prefix)
        parts = [model(idx[:, :prefix], kv_cache=cache), model(idx[:, prefix:prefix + chunk], kv_cache=cache)]
        parts += [model(idx[:, t:t + 1], kv_cache=cache) for t in range(prefix + chunk, T)]
    out = dict(loss=loss.detach(), logits=logits, cached_logits=torch.cat(parts, 1))
    out.update({"grad " + k: p.grad for k, p in model.named_parameters()})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("nanochat", type=Path)
    ap.add_argument("dump_dir", type=Path)
    a = ap.parse_args()
    sys.path.insert(0, str(a.nanochat))
    from nanochat.gpt import GPT, GPTConfig  # noqa: E402
    KVCache = nanochat_kv_cache_class(a.nanochat / "nanochat" / "engine.py")

    init, meta = load(a.dump_dir / "init.safetensors")
    weights, _ = load(a.dump_dir / "model.safetensors")
    batch, batch_meta = load(a.dump_dir / "batch.safetensors")
    config = json.loads(meta["model_config"])
    seed, prefix, chunk = (int(batch_meta[k]) for k in ("seed", "prefix", "chunk"))
    B = batch["idx"].size(0)
    head_dim = config["n_embd"] // config["n_head"]

    with torch.device("meta"):
        theirs = GPT(GPTConfig(**config))
    theirs.to_empty(device="cpu")
    torch.manual_seed(seed)
    theirs.init_weights()
    ours = ref.GPT(config["n_layer"], config["vocab_size"], config["sequence_len"])
    torch.manual_seed(seed)
    ours.init_weights()

    diffs = {"init": max((theirs.state_dict()[k] - ours.state_dict()[k]).abs().max().item() for k in init)}
    a_out = run(theirs, lambda n: KVCache(B, config["n_kv_head"], n, head_dim, config["n_layer"]), weights,
                batch["idx"], batch["targets"], prefix, chunk)
    b_out = run(ours, lambda n: ref.KVCache(B, ours.n_head, n, head_dim, ours.n_layer), weights,
                batch["idx"], batch["targets"], prefix, chunk)
    for key in a_out:
        diffs[key] = (a_out[key].double() - b_out[key].double()).abs().max().item()
    for key, diff in diffs.items():
        print(f"  {key:<44} max|nanochat - reference| {diff:.3e}")
    bad = [k for k, v in diffs.items() if v != 0]
    print("reference_nanochat.py computes exactly what nanochat does" if not bad else f"DIFFERENT: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

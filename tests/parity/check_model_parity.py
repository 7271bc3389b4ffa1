#!/usr/bin/env python3
"""Holds our GPT to nanochat's: loads what tests/parity/parity_dump wrote (weights, a batch,
our logits, loss, gradients and KV-cache logits) into bench/pretrain/reference_nanochat.py's
model (nanochat's gpt.py and engine.py KVCache restated in PyTorch), computes the same in
fp32 on the CPU and compares. Prints one line per compared quantity with its largest
absolute and relative difference; exits 1 if any is out of tolerance.

  check_model_parity.py DUMP_DIR

Tolerances (fp32 on both sides; the differences come from summation order alone, our fused
CPU kernels against ATen's):
- init: exact. The same seed gives the same weights as nanochat's init_weights after
  torch.manual_seed(seed): same generator, same draws in the same module order.
- logits (with and without the KV cache): |ours - ref| <= 1e-4 everywhere. Logits lie in
  [-15, 15] (softcap); 1e-4 is ~1e-5 relative at their scale, far above fp32 rounding
  through a few layers (~1e-6) and far below any real difference (a wrong mask, rotary
  offset or softcap moves logits by 1e-2 or more).
- loss: |ours - ref| <= 1e-5 · |ref|. The loss is one mean of B·T per-row cross-entropies,
  each within a few 1e-6 of the reference (the logits' error feeds each row at most 2x, and
  the rows' own log-sum-exp runs in fp32); 1e-5 relative is ~80 fp32 ulps of a loss of ~6.
- gradients, per parameter tensor: max |ours - ref| <= 1e-4 · max |ref| over that tensor.
  Relative to the tensor's largest entry, not entry by entry: most entries of a gradient are
  tiny sums of cancelling terms, whose relative error in fp32 is unbounded and meaningless,
  while an error of 1e-4 of the tensor's scale would show any real difference.
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

try:
    from safetensors import safe_open  # noqa: E402
except ImportError:
    raise SystemExit("check_model_parity.py: this python has no `safetensors` package; run packaging/setup.sh "
                     "(it installs packaging/torch-venv-requirements.txt into the PyTorch venv)")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "pretrain"))
import reference_nanochat as ref  # noqa: E402

LOGITS_ATOL = 1e-4
LOSS_RTOL = 1e-5
GRAD_RTOL = 1e-4


def load(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


class Report:
    def __init__(self):
        self.failures = []

    def line(self, name, ours, theirs, ok_abs=None, scale_tol=None):
        """ok_abs: max |diff| allowed. scale_tol: max |diff| / max |ref| allowed."""
        if ours.shape != theirs.shape:
            self.fail(f"{name}: shape {tuple(ours.shape)} vs reference {tuple(theirs.shape)}")
            return
        ours, theirs = ours.double(), theirs.double()
        diff = (ours - theirs).abs().max().item() if ours.numel() else 0.0
        scale = theirs.abs().max().item() if theirs.numel() else 0.0
        rel = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
        ok = (ok_abs is None or diff <= ok_abs) and (scale_tol is None or rel <= scale_tol)
        tol = f"abs <= {ok_abs:g}" if ok_abs is not None else f"rel <= {scale_tol:g}"
        print(f"  {name:<44} max|diff| {diff:.3e}  rel {rel:.3e}  (max|ref| {scale:.3e}; {tol})"
              f"  {'ok' if ok else 'FAIL'}")
        if not ok:
            self.failures.append(name)

    def fail(self, message):
        print("  " + message + "  FAIL")
        self.failures.append(message)


def reference_model(config, seed):
    model = ref.GPT(config["n_layer"], config["vocab_size"], config["sequence_len"])
    sizing = dict(n_embd=model.n_embd, n_head=model.n_head, n_kv_head=model.n_head)
    for key, value in sizing.items():
        if config[key] != value:
            raise SystemExit(f"model_config {key}={config[key]} but nanochat's sizing for depth "
                             f"{config['n_layer']} gives {value}")
    torch.manual_seed(seed)
    model.init_weights()
    return model


def cached_logits(model, idx, prefix, chunk):
    """Every position through nanochat's KVCache: the prefix (queries = keys), a chunk over the
    cached prefix, then one token at a time; the cache starts at the prefix's length."""
    B, T = idx.shape
    cache = ref.KVCache(B, model.n_head, prefix, model.n_embd // model.n_head, model.n_layer)
    parts = [model(idx[:, :prefix], kv_cache=cache), model(idx[:, prefix:prefix + chunk], kv_cache=cache)]
    parts += [model(idx[:, t:t + 1], kv_cache=cache) for t in range(prefix + chunk, T)]
    return torch.cat(parts, 1)


def engine_logits(model, idx, prefix):
    """nanochat Engine.generate's model calls: row 0's prefix at batch 1, its cache prefilled
    into a batch-B cache, then one token per row per step (forced instead of sampled)."""
    B, T = idx.shape
    head_dim = model.n_embd // model.n_head
    prompt_cache = ref.KVCache(1, model.n_head, prefix, head_dim, model.n_layer)
    prompt_logits = model(idx[:1, :prefix], kv_cache=prompt_cache)[:, -1, :]
    cache = ref.KVCache(B, model.n_head, T, head_dim, model.n_layer)
    cache.prefill(prompt_cache)
    steps = [model(idx[:, t:t + 1], kv_cache=cache)[:, -1, :] for t in range(prefix, T)]
    return prompt_logits, torch.stack(steps, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump_dir", type=Path)
    d = ap.parse_args().dump_dir
    init, init_meta = load(d / "init.safetensors")
    weights, _ = load(d / "model.safetensors")
    batch, batch_meta = load(d / "batch.safetensors")
    outputs, out_meta = load(d / "outputs.safetensors")
    grads, _ = load(d / "grads.safetensors")
    config = json.loads(init_meta["model_config"])
    seed, prefix, chunk = (int(batch_meta[k]) for k in ("seed", "prefix", "chunk"))
    idx, targets = batch["idx"], batch["targets"]
    torch.set_default_dtype(torch.float32)
    print(f"parity with nanochat's GPT: depth {config['n_layer']}, d {config['n_embd']}, {config['n_head']} heads, "
          f"vocab {config['vocab_size']}, batch {tuple(idx.shape)}, prefix {prefix}, chunk {chunk}, "
          f"ours on {out_meta.get('device', '?')}")
    r = Report()

    model = reference_model(config, seed)
    state = model.state_dict()
    if set(state) != set(init):
        r.fail(f"parameter names differ: ours only {sorted(set(init) - set(state))}, "
               f"nanochat only {sorted(set(state) - set(init))}")
        return finish(r)
    worst = max(state, key=lambda k: (init[k].double() - state[k].double()).abs().max().item())
    r.line(f"init weights, {len(state)} tensors (worst: {worst})", init[worst], state[worst], ok_abs=0.0)

    model.load_state_dict(weights, strict=True)
    loss = model(idx, targets)
    loss.backward()
    with torch.no_grad():
        logits = model(idx)
    r.line("logits", outputs["logits"], logits, ok_abs=LOGITS_ATOL)
    r.line("loss", outputs["loss"], loss.detach(), scale_tol=LOSS_RTOL)
    print(f"  (loss: ours {outputs['loss'].item():.7f}, nanochat {loss.item():.7f})")
    for name, param in model.named_parameters():
        r.line(f"grad {name}", grads[name], param.grad, scale_tol=GRAD_RTOL)

    with torch.inference_mode():
        theirs_cached = cached_logits(model, idx, prefix, chunk)
        prompt_logits, decoded = engine_logits(model, idx, prefix)
    r.line("logits through the KV cache", outputs["cached_logits"], theirs_cached, ok_abs=LOGITS_ATOL)
    r.line("engine: prompt's next-token logits", outputs["engine_prompt_logits"], prompt_logits, ok_abs=LOGITS_ATOL)
    r.line("engine: decoded logits", outputs["engine_logits"], decoded, ok_abs=LOGITS_ATOL)
    # The reference's cache against its own full forward: nanochat's cache changes nothing.
    r.line("(nanochat: KV cache vs full forward)", theirs_cached, logits, ok_abs=LOGITS_ATOL)
    return finish(r)


def finish(r):
    if r.failures:
        print(f"FAILED: {len(r.failures)} quantities differ from nanochat: " + "; ".join(r.failures))
        return 1
    print("all quantities within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())

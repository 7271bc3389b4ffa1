#!/usr/bin/env python3
"""The peer of bench/pretrain: nanochat's classic base training, restated in PyTorch eager.

Why a re-statement: the PyPI package `nanochat` 0.1.2 holds only `rustbpe` (its sdist is
rustbpe/ + pyproject.toml; its only wheel is a macOS arm64 build of rustbpe), no gpt.py,
muon.py or base_train.py, so there is no nanochat model in it to run. This file re-states
karpathy/nanochat's classic nanochat/gpt.py, nanochat/muon.py and the base_train.py loop
(SPEC §3-§5) line for line where it matters for speed:

- GPT: n_layer=depth, d=64·depth, heads=ceil(d/128) of 128, untied wte / lm_head, vocab
  padded to a multiple of 64 (logits sliced back), no biases; x=norm(wte(idx)); per block
  x+=attn(norm(x)), x+=mlp(norm(x)); norm -> lm_head -> slice -> fp32 -> 15·tanh(l/15) ->
  cross_entropy(ignore_index=-1), or the logits without targets. norm = F.rms_norm without
  parameters. Attention: c_q, c_k, c_v, rotary (base 10000, half split, cos/sin cached in
  bf16 for 10·T positions), then QK rms_norm, then SDPA(is_causal=True), c_proj; with
  engine.py's KVCache, the new keys join the cache and SDPA takes nanochat's three cases
  (causal, one query over all, a chunk over the prefix). MLP: relu(c_fc(x)).square() ->
  c_proj. Init: Linear N(0, fan_in^-½·min(1, √(fan_out/fan_in))), embedding N(0,1),
  lm_head and every c_proj zero. wte stays fp32 on CPU; on CUDA (--device cuda) it is cast
  to bf16 as nanochat does there.
- Muon over transformer.h (lr 0.02, momentum 0.95, nesterov, 5 quintic Newton-Schulz steps
  in bf16 with (3.4445, -4.7750, 2.0315), update scaled by √max(1, rows/cols)); grouped by
  numel as nanochat's Muon does. nanochat decorates zeropower_via_newtonschulz5 with
  @torch.compile; --compile none runs it eager, --compile all compiles it as nanochat.
  --ns-dtype auto runs it in fp32 where the CPU has no native bf16 matmul: there PyTorch's
  bf16 matmul is a scalar fallback (~1-2 GFLOP/s against ~130 fp32 on the 2-core AMD EPYC
  with AVX2 only this was written on), and nanochat's bf16 Newton-Schulz alone would take
  ~7 s a step at depth 4 and ~15 min at depth 8. --ns-dtype bf16 is nanochat as written;
  our Muon plugin makes the same fp32 choice on such CPUs.
- AdamW (fused torch.optim.AdamW, betas (0.8, 0.95), eps 1e-10, wd 0) with lm_head at
  0.004·s and wte at 0.2·s, s = (d/768)^-½.
- Loop as base_train: grad_accum micro-batches of loss/grad_accum with backward, lr
  multiplier (constant then linear warm-down over the last 20%), Muon momentum ramp
  0.85->0.95 over 300 steps, both optimizers step, zero_grad(set_to_none=True), dt around
  all of it (on CUDA each timing point waits for the GPU), loss.item() after. On CPU
  nanochat runs fp32 with no autocast; --dtype bf16 wraps the forward in
  torch.autocast(device, bfloat16), as nanochat does on CUDA. Classic
  grad_clip=1.0 is off here by default (--grad-clip) because our pretrain stage does not
  clip either; the clip is one foreach norm, small either way.

tests/parity/check_model_parity.py holds our GPT to this model (logits, loss, gradients, KV
cache), and tests/parity/nanochat_formulas.py takes its sizes, FLOPs and lr schedule.

Tokens are random ids of the same vocabulary (throughput does not depend on the values; our
side reads real shards). Prints one JSON object per step and a summary line at the end.

Also: `reference_nanochat.py peak` measures the best 2048² matmul FLOP/s (fp32 and bf16) in
this PyTorch, for MFU.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from contextlib import nullcontext
from functools import partial

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


# ----------------------------------------------------------------------------- model
def norm(x):
    return F.rms_norm(x, (x.size(-1),))


def apply_rotary_emb(x, cos, sin):
    assert x.ndim == 4
    d = x.shape[3] // 2
    x1, x2 = x[..., :d], x[..., d:]
    y1 = x1 * cos + x2 * sin
    y2 = x1 * (-sin) + x2 * cos
    return torch.cat([y1, y2], 3)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_head, self.head_dim = n_head, n_embd // n_head
        self.c_q = nn.Linear(n_embd, n_head * self.head_dim, bias=False)
        self.c_k = nn.Linear(n_embd, n_head * self.head_dim, bias=False)
        self.c_v = nn.Linear(n_embd, n_head * self.head_dim, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=False)

    def forward(self, x, cos_sin, kv_cache):
        B, T, C = x.size()
        q = self.c_q(x).view(B, T, self.n_head, self.head_dim)
        k = self.c_k(x).view(B, T, self.n_head, self.head_dim)
        v = self.c_v(x).view(B, T, self.n_head, self.head_dim)
        cos, sin = cos_sin
        q, k = apply_rotary_emb(q, cos, sin), apply_rotary_emb(k, cos, sin)
        q, k = norm(q), norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if kv_cache is not None:
            k, v = kv_cache.insert_kv(self.layer_idx, k, v)
        Tq, Tk = q.size(2), k.size(2)
        if kv_cache is None or Tq == Tk:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif Tq == 1:  # one new token attends to every cached position
            y = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        else:  # a chunk after a cached prefix: all of the prefix, causal within the chunk
            attn_mask = torch.zeros((Tq, Tk), dtype=torch.bool, device=q.device)
            prefix_len = Tk - Tq
            attn_mask[:, :prefix_len] = True
            attn_mask[:, prefix_len:] = torch.tril(torch.ones((Tq, Tq), dtype=torch.bool, device=q.device))
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        y = y.transpose(1, 2).contiguous().view(B, T, -1)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)).square())


class Block(nn.Module):
    def __init__(self, n_embd, n_head, layer_idx):
        super().__init__()
        self.attn = CausalSelfAttention(n_embd, n_head, layer_idx)
        self.mlp = MLP(n_embd)

    def forward(self, x, cos_sin, kv_cache):
        x = x + self.attn(norm(x), cos_sin, kv_cache)
        x = x + self.mlp(norm(x))
        return x


class GPT(nn.Module):
    def __init__(self, depth, vocab_size, sequence_len):
        super().__init__()
        self.n_layer, self.n_embd = depth, 64 * depth
        self.n_head = max(1, (self.n_embd + 127) // 128)
        self.vocab_size, self.sequence_len = vocab_size, sequence_len
        padded = (vocab_size + 63) // 64 * 64
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(padded, self.n_embd),
            h=nn.ModuleList([Block(self.n_embd, self.n_head, layer_idx) for layer_idx in range(depth)]),
        ))
        self.lm_head = nn.Linear(self.n_embd, padded, bias=False)
        self.rotary_seq_len = sequence_len * 10
        cos, sin = self._precompute_rotary_embeddings(self.rotary_seq_len, self.n_embd // self.n_head)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def init_weights(self):
        self.apply(self._init_weights)
        torch.nn.init.zeros_(self.lm_head.weight)
        for block in self.transformer.h:
            torch.nn.init.zeros_(block.mlp.c_proj.weight)
            torch.nn.init.zeros_(block.attn.c_proj.weight)
        if self.transformer.wte.weight.device.type == "cuda":  # as nanochat: saves memory, the optimizer copes
            self.transformer.wte.to(dtype=torch.bfloat16)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            fan_out, fan_in = module.weight.size(0), module.weight.size(1)
            std = 1.0 / math.sqrt(fan_in) * min(1.0, math.sqrt(fan_out / fan_in))
            torch.nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=1.0)

    @staticmethod
    def _precompute_rotary_embeddings(seq_len, head_dim, base=10000):
        channel_range = torch.arange(0, head_dim, 2, dtype=torch.float32)
        inv_freq = 1.0 / (base ** (channel_range / head_dim))
        t = torch.arange(seq_len, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        cos, sin = freqs.cos().bfloat16(), freqs.sin().bfloat16()
        return cos[None, :, None, :], sin[None, :, None, :]

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def estimate_flops(self):
        nparams_embedding = self.transformer.wte.weight.numel()
        l, h, q, t = self.n_layer, self.n_head, self.n_embd // self.n_head, self.sequence_len
        return 6 * (self.num_params() - nparams_embedding) + 12 * l * h * q * t

    def setup_optimizers(self, unembedding_lr=0.004, embedding_lr=0.2, matrix_lr=0.02, weight_decay=0.0):
        dmodel_lr_scale = (self.n_embd / 768) ** -0.5
        adam_groups = [
            dict(params=list(self.lm_head.parameters()), lr=unembedding_lr * dmodel_lr_scale),
            dict(params=list(self.transformer.wte.parameters()), lr=embedding_lr * dmodel_lr_scale),
        ]
        adamw = partial(torch.optim.AdamW, fused=True)(adam_groups, betas=(0.8, 0.95), eps=1e-10,
                                                      weight_decay=weight_decay)
        muon = Muon(list(self.transformer.h.parameters()), lr=matrix_lr, momentum=0.95)
        optimizers = [adamw, muon]
        for opt in optimizers:
            for group in opt.param_groups:
                group["initial_lr"] = group["lr"]
        return optimizers

    def forward(self, idx, targets=None, kv_cache=None, loss_reduction="mean"):
        B, T = idx.size()
        assert T <= self.cos.size(1), f"sequence length {T} exceeds the rotary cache {self.cos.size(1)}"
        T0 = 0 if kv_cache is None else kv_cache.get_pos()
        cos_sin = self.cos[:, T0:T0 + T], self.sin[:, T0:T0 + T]
        x = norm(self.transformer.wte(idx))
        for block in self.transformer.h:
            x = block(x, cos_sin, kv_cache)
        x = norm(x)
        softcap = 15
        logits = self.lm_head(x)[..., :self.vocab_size]
        logits = logits.float()  # before the softcap, as nanochat: under autocast tanh runs in fp32
        logits = softcap * torch.tanh(logits / softcap)
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1,
                               reduction=loss_reduction)


class KVCache:
    """nanochat engine.py's KVCache: one (layers, 2, B, H, T, D) tensor made at the first insert
    in the keys' dtype and device, grown in whole 1024-position blocks with 1024 to spare; pos
    advances when the last layer inserts. prefill() copies another cache's content, batch 1
    broadcast to this batch (a prompt prefilled once, then decoded as several samples)."""

    def __init__(self, batch_size, num_heads, seq_len, head_dim, num_layers):
        self.kv_shape = (num_layers, 2, batch_size, num_heads, seq_len, head_dim)
        self.kv_cache = None
        self.pos = 0

    def reset(self):
        self.pos = 0

    def get_pos(self):
        return self.pos

    def prefill(self, other):
        assert self.kv_cache is None, "Cannot prefill a non-empty KV cache"
        assert other.kv_cache is not None, "Cannot prefill with a None KV cache"
        layers, kv, batch, heads, seq, head_dim = self.kv_shape
        o_layers, o_kv, o_batch, o_heads, o_seq, o_head_dim = other.kv_shape
        assert (layers, kv, heads, head_dim) == (o_layers, o_kv, o_heads, o_head_dim)
        assert batch == o_batch or o_batch == 1, f"batch {batch} cannot take a cache of batch {o_batch}"
        assert seq >= o_seq, f"sequence length {seq} < {o_seq}"
        self.kv_cache = torch.empty(self.kv_shape, dtype=other.kv_cache.dtype, device=other.kv_cache.device)
        self.kv_cache[:, :, :, :, :other.pos, :] = other.kv_cache
        self.pos = other.pos

    def insert_kv(self, layer_idx, k, v):
        if self.kv_cache is None:
            self.kv_cache = torch.empty(self.kv_shape, dtype=k.dtype, device=k.device)
        B, H, T_add, D = k.size()
        t0, t1 = self.pos, self.pos + T_add
        if t1 > self.kv_cache.size(4):
            t_needed = (t1 + 1024 + 1023) & ~1023
            more = list(self.kv_cache.shape)
            more[4] = t_needed - self.kv_cache.size(4)
            self.kv_cache = torch.cat([self.kv_cache, torch.empty(more, dtype=k.dtype, device=k.device)],
                                      dim=4).contiguous()
            self.kv_shape = self.kv_cache.shape
        self.kv_cache[layer_idx, 0, :, :, t0:t1, :] = k
        self.kv_cache[layer_idx, 1, :, :, t0:t1, :] = v
        if layer_idx == self.kv_cache.size(0) - 1:
            self.pos = t1
        return self.kv_cache[layer_idx, 0, :, :, :t1, :], self.kv_cache[layer_idx, 1, :, :, :t1, :]


# ----------------------------------------------------------------------------- Muon
NS_DTYPE = torch.bfloat16  # nanochat's choice; --ns-dtype may change it (see native_bf16())


def native_bf16():
    """True where this CPU has bf16 matmul hardware that PyTorch uses (oneDNN: AVX512-BF16 / AMX).
    Elsewhere a bf16 matmul takes PyTorch's scalar fallback, hundreds of times slower than fp32."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def zeropower_via_newtonschulz5(G, steps):
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.to(NS_DTYPE)
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


_newton_schulz = zeropower_via_newtonschulz5  # --compile swaps in torch.compile(...) as nanochat


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr=0.02, momentum=0.95, nesterov=True, ns_steps=5):
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps)
        params = [*params]
        param_groups = []
        for size in {p.numel() for p in params}:
            param_groups.append(dict(params=[p for p in params if p.numel() == size]))
        super().__init__(param_groups, defaults)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                assert g is not None
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.lerp_(g, 1 - group["momentum"])
                g = g.lerp_(buf, group["momentum"]) if group["nesterov"] else buf
                g = _newton_schulz(g, steps=group["ns_steps"])
                p.add_(g, alpha=-group["lr"] * max(1, p.size(-2) / p.size(-1)) ** 0.5)


# ----------------------------------------------------------------------------- loop
def training_horizon(num_params, num_flops_per_token, total_batch_size, num_iterations=-1, target_flops=-1.0,
                     target_param_data_ratio=20):
    """base_train's number of steps: given, else from target FLOPs (Python's round, half to
    even), else from the data:param ratio (floor division)."""
    if num_iterations > 0:
        return num_iterations
    if target_flops > 0:
        return round(target_flops / (num_flops_per_token * total_batch_size))
    if target_param_data_ratio > 0:
        return int(target_param_data_ratio * num_params // total_batch_size)
    raise ValueError("No training horizon specified")


def get_lr_multiplier(it, num_iterations, warmup_ratio=0.0, warmdown_ratio=0.2, final_lr_frac=0.0):
    warmup_iters = round(warmup_ratio * num_iterations)
    warmdown_iters = round(warmdown_ratio * num_iterations)
    if it < warmup_iters:
        return (it + 1) / warmup_iters
    if it <= num_iterations - warmdown_iters:
        return 1.0
    progress = (num_iterations - it) / warmdown_iters
    return progress * 1.0 + (1 - progress) * final_lr_frac


def get_muon_momentum(it):
    frac = min(it / 300, 1)
    return (1 - frac) * 0.85 + frac * 0.95


def synchronizer(device):
    """Waits for the device's queued work (CUDA runs asynchronously), for timing."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def train(args):
    global _newton_schulz, NS_DTYPE
    device = torch.device(args.device)
    if args.ns_dtype == "fp32" or (args.ns_dtype == "auto" and device.type == "cpu" and not native_bf16()):
        NS_DTYPE = torch.float32
    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with torch.device(device):  # parameters and rotary tables made there, as base_train's to_empty(device)
        model = GPT(args.depth, args.vocab_size, args.max_seq_len)
    model.init_weights()
    sync = synchronizer(device)
    optimizers = model.setup_optimizers()
    orig_model = model
    if args.compile in ("model", "all"):
        model = torch.compile(model, dynamic=False)
    if args.compile == "all":
        _newton_schulz = torch.compile(zeropower_via_newtonschulz5)
    autocast_ctx = (torch.amp.autocast(device_type=device.type, dtype=torch.bfloat16) if args.dtype == "bf16"
                    else nullcontext())
    B, T = args.device_batch_size, args.max_seq_len
    total = args.total_batch_size or B * T
    assert total % (B * T) == 0, "total batch must be a multiple of B*T"
    grad_accum = total // (B * T)
    gen = torch.Generator().manual_seed(args.seed)
    # a few pre-made (B, T+1) rows of random ids, cycled: loading costs nothing on this side
    rows = [torch.randint(0, args.vocab_size, (B, T + 1), generator=gen).to(device) for _ in range(4)]
    batches = [(r[:, :-1].contiguous(), r[:, 1:].contiguous()) for r in rows]
    counter = [0]

    def next_batch():
        counter[0] += 1
        return batches[counter[0] % len(batches)]

    fpt = orig_model.estimate_flops()
    info = dict(kind="config", depth=args.depth, n_embd=orig_model.n_embd, n_head=orig_model.n_head,
                params=orig_model.num_params(), flops_per_token=fpt, B=B, T=T, total=total,
                grad_accum=grad_accum, dtype=args.dtype, ns_dtype=str(NS_DTYPE).replace("torch.", ""),
                native_bf16=native_bf16(), compile=args.compile, threads=torch.get_num_threads(),
                torch=torch.__version__, device=device_name(device))
    print(json.dumps(info), flush=True)
    x, y = next_batch()
    dts, phases = [], []
    num_iterations = args.num_iterations
    for step in range(num_iterations):
        sync()
        t0 = time.perf_counter()
        for _ in range(grad_accum):
            with autocast_ctx:
                loss = model(x, y)
            train_loss = loss.detach()
            loss = loss / grad_accum
            sync()
            t_fwd = time.perf_counter()
            loss.backward()
            x, y = next_batch()
        sync()
        t_bwd = time.perf_counter()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(orig_model.parameters(), args.grad_clip)
        lrm = get_lr_multiplier(step, num_iterations)
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * lrm
        for group in optimizers[1].param_groups:
            group["momentum"] = get_muon_momentum(step)
        t_opt0 = time.perf_counter()
        optimizers[0].step()
        sync()
        t_adam = time.perf_counter()
        optimizers[1].step()
        sync()
        t_muon = time.perf_counter()
        model.zero_grad(set_to_none=True)
        sync()
        t1 = time.perf_counter()
        lossf = train_loss.item()
        dt = t1 - t0
        rec = dict(step=step, loss=lossf, dt=dt, tok_per_sec=total / dt)
        if grad_accum == 1:  # phase split (forward includes the loss; t_fwd is after the last micro-batch)
            rec.update(fwd=t_fwd - t0, bwd=t_bwd - t_fwd, adamw=t_adam - t_opt0, muon=t_muon - t_adam)
        print(json.dumps(rec), flush=True)
        if step >= args.warmup:
            dts.append(dt)
            phases.append(rec)
    med = statistics.median(dts)
    summary = dict(kind="summary", median_dt=med, tok_per_sec=total / med, steps_timed=len(dts))
    if phases and "fwd" in phases[0]:
        for k in ("fwd", "bwd", "adamw", "muon"):
            summary[k] = statistics.median(r[k] for r in phases)
    print(json.dumps(summary), flush=True)


def device_name(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def peak(args):
    """Best-of-N square matmul FLOP/s in fp32 and bf16. Without native bf16 a 2048² bf16 matmul
    takes about a minute here, so bf16 then uses --small (its FLOP/s hardly depends on size).
    On CUDA bf16 is native; use --n 8192 there, 2048² is too small to fill a large GPU."""
    device = torch.device(args.device)
    native = device.type == "cuda" or native_bf16()
    sync = synchronizer(device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out = dict(kind="peak", threads=torch.get_num_threads(), torch=torch.__version__, native_bf16=native,
               cpu_capability=torch.backends.cpu.get_cpu_capability(), device=device_name(device))
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        n = args.n if (dtype == torch.float32 or native) else args.small
        repeats = args.repeats if n == args.n else 2
        a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
        c = a @ b
        best = 0.0
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            c = a @ b
            sync()
            dt = time.perf_counter() - t0
            best = max(best, 2.0 * n ** 3 / dt)
        out[name] = best
        out[name + "_n"] = n
    del c
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    tp = sub.add_parser("train")
    tp.add_argument("--depth", type=int, default=4)
    tp.add_argument("--max-seq-len", type=int, default=512)
    tp.add_argument("--device-batch-size", type=int, default=2)
    tp.add_argument("--total-batch-size", type=int, default=0, help="0: one micro-batch (B*T)")
    tp.add_argument("--num-iterations", type=int, default=10)
    tp.add_argument("--warmup", type=int, default=3, help="steps left out of the median")
    tp.add_argument("--vocab-size", type=int, default=65536)
    tp.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    tp.add_argument("--compile", choices=("none", "model", "all"), default="none",
                    help="model: torch.compile(model, dynamic=False) as base_train; all: also Newton-Schulz")
    tp.add_argument("--grad-clip", type=float, default=0.0)
    tp.add_argument("--ns-dtype", choices=("bf16", "fp32", "auto"), default="bf16",
                    help="Newton-Schulz dtype: bf16 as nanochat; auto: bf16 only on native-bf16 CPUs")
    tp.add_argument("--threads", type=int, default=0)
    tp.add_argument("--seed", type=int, default=42)
    tp.add_argument("--device", default="cpu", help="cpu or cuda (there wte is bf16, as nanochat makes it)")
    pp = sub.add_parser("peak")
    pp.add_argument("--n", type=int, default=2048)
    pp.add_argument("--repeats", type=int, default=8)
    pp.add_argument("--small", type=int, default=384, help="bf16 size where bf16 is not native")
    pp.add_argument("--threads", type=int, default=0)
    pp.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.cmd == "peak":
        peak(args)
    elif args.cmd == "train":
        train(args)
    else:
        ap.print_help()
        sys.exit(2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""nanochat's CORE evaluation restated in PyTorch: the peer of bench/core and the oracle of
tests/parity/test_core_parity.cpp.

What it restates (karpathy/nanochat at commit 10231df):
- scripts/base_eval.py's task loop: the tasks of core.yaml in its order (label, file,
  icl_task_type, num_fewshot, continuation_delimiter defaulting to " "), each task's jsonl
  read whole, random.Random(1337).shuffle, the first --max-problems kept (max_per_task),
  centered = (acc - 0.01·b) / (1 - 0.01·b) with b from eval_meta_data.csv's "Random
  baseline" (csv.DictReader into a dict), and the mean of the centered accuracies;
- nanochat/core_eval.py: few-shot examples random.Random(1234 + idx).sample of the other
  items' indices, the prompts rendered by Jinja2 templates (the three below), the prompts
  tokenized with BOS first, the spans by common prefix (multiple choice), common suffix
  (schema) or the prompt without the continuation (language modelling); one batch per
  item, right-padded with BOS, cross-entropy at every position, the option of lowest mean
  loss over its span (list.index(min(...))), or all continuation tokens reproduced by the
  argmax; items strided over ranks (here: one process).
The model is bench/pretrain/reference_nanochat.py's GPT (nanochat's gpt.py restated),
loaded from one of our checkpoints (model_*.safetensors beside meta_*.json). On CUDA the
forward runs under bf16 autocast, as base_eval does.

Where this differs from nanochat, it differs the same way as ours: data from the shared data
layout (eval_core/eval_data/ and HellaSwag's three parts from eval_hellaswag/, joined in
order; squad and coqa are skipped when their files are absent), tokens from tiktoken over our
tokenizer folder (tokenizer.json's pattern and specials, the ranks file; encode_ordinary, as
nanochat's tokenizer encodes), and sequences longer than the model's rotary table (10 ×
sequence_len) cropped from the left by the same count for every option of the item (nanochat's
own GPT would fail on them; core_eval.py's crop for models with a max_seq_len takes each
sequence's own excess), and a schema item whose options are identical scored after BOS.

  reference_core.py items --data DIR --tokenizer DIR [--max-problems N] --out FILE
      every item's few-shot indices, prompts, token ids and spans, one JSON line per item
  reference_core.py eval --data DIR --tokenizer DIR --checkpoint FILE [--max-problems N]
      [--device cpu|cuda] [--threads N] [--tasks a,b]
      one JSON line per task (correct, items, accuracy, centered, seconds) and a summary line
"""
import argparse
import csv
import json
import random
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

from jinja2 import Template

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

# (label, file under eval_data/, icl_task_type, num_fewshot, continuation_delimiter, optional)
# from core.yaml = mlfoundations/dclm eval/heavy.yaml's settings for DCLM's 22 low-variance tasks.
TASKS = [
    ("hellaswag_zeroshot", "language_understanding/hellaswag.jsonl", "multiple_choice", 0, " ", False),
    ("jeopardy", "world_knowledge/jeopardy_all.jsonl", "language_modeling", 10, "\nAnswer: ", False),
    ("bigbench_qa_wikidata", "world_knowledge/bigbench_qa_wikidata.jsonl", "language_modeling", 10, " ", False),
    ("arc_easy", "world_knowledge/arc_easy.jsonl", "multiple_choice", 10, "\nAnswer: ", False),
    ("arc_challenge", "world_knowledge/arc_challenge.jsonl", "multiple_choice", 10, "\nAnswer: ", False),
    ("copa", "commonsense_reasoning/copa.jsonl", "multiple_choice", 0, " ", False),
    ("commonsense_qa", "commonsense_reasoning/commonsense_qa.jsonl", "multiple_choice", 10, " ", False),
    ("piqa", "commonsense_reasoning/piqa.jsonl", "multiple_choice", 10, "\nAnswer: ", False),
    ("openbook_qa", "commonsense_reasoning/openbook_qa.jsonl", "multiple_choice", 0, " ", False),
    ("lambada_openai", "language_understanding/lambada_openai.jsonl", "language_modeling", 0, " ", False),
    ("hellaswag", "language_understanding/hellaswag.jsonl", "multiple_choice", 10, " ", False),
    ("winograd", "language_understanding/winograd_wsc.jsonl", "schema", 0, " ", False),
    ("winogrande", "language_understanding/winogrande.jsonl", "schema", 0, " ", False),
    ("bigbench_dyck_languages", "symbolic_problem_solving/bigbench_dyck_languages.jsonl", "language_modeling", 10, " ", False),
    ("agi_eval_lsat_ar", "symbolic_problem_solving/agi_eval_lsat_ar.jsonl", "multiple_choice", 3, " ", False),
    ("bigbench_cs_algorithms", "symbolic_problem_solving/bigbench_cs_algorithms.jsonl", "language_modeling", 10, " ", False),
    ("bigbench_operators", "symbolic_problem_solving/bigbench_operators.jsonl", "language_modeling", 10, " ", False),
    ("bigbench_repeat_copy_logic", "symbolic_problem_solving/bigbench_repeat_copy_logic.jsonl", "language_modeling", 10, " ", False),
    ("squad", "reading_comprehension/squad.jsonl", "language_modeling", 10, " ", True),
    ("coqa", "reading_comprehension/coqa.jsonl", "language_modeling", 0, " ", True),
    ("boolq", "reading_comprehension/boolq.jsonl", "multiple_choice", 10, "\nAnswer: ", False),
    ("bigbench_language_identification", "language_understanding/bigbench_language_identification.jsonl", "multiple_choice", 10, " ", False),
]

# core_eval.py's templates, each .strip()'d before use as there.
MC_TEMPLATE = """
{%- for example in fewshot_examples -%}
{{ example.query }}{{ continuation_delimiter }}{{ example.choices[example.gold] }}

{% endfor -%}
{{ item.query }}{{ continuation_delimiter }}{{ choice }}""".strip()
SCHEMA_TEMPLATE = """
{%- for example in fewshot_examples -%}
{{ example.context_options[example.gold] }}{{ continuation_delimiter }}{{ example.continuation }}

{% endfor -%}
{{ context }}{{ continuation_delimiter }}{{ item.continuation }}""".strip()
LM_TEMPLATE = """
{%- for example in fewshot_examples -%}
{{ example.context | trim }}{{ continuation_delimiter }}{{ example.continuation }}

{% endfor -%}
{{ item.context | trim }}{{ continuation_delimiter }}{% if include_continuation %}{{ item.continuation }}{% endif %}""".strip()


# ----------------------------------------------------------------------------- data
def task_files(data_dir, file):
    path = Path(data_dir) / "eval_core" / "eval_data" / file
    if path.exists():
        return [path]
    if file == "language_understanding/hellaswag.jsonl":
        parts = [Path(data_dir) / "eval_hellaswag" / f"hellaswag_val_part{i}of3.jsonl" for i in (1, 2, 3)]
        if all(p.exists() for p in parts):
            return parts
    return []


def load_task(files, max_problems):
    data = []
    for path in files:
        with open(path, "r", encoding="utf-8") as f:
            data += [json.loads(line.strip()) for line in f if line.strip()]
    random.Random(1337).shuffle(data)
    if max_problems > 0:
        data = data[:max_problems]
    return data


def random_baselines(data_dir):
    baselines = {}
    with open(Path(data_dir) / "eval_core" / "eval_meta_data.csv", "r", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            baselines[row["Eval Task"]] = float(row["Random baseline"])
    return baselines


def fewshot_indices(data, idx, num_fewshot):
    if num_fewshot <= 0:
        return []
    rng = random.Random(1234 + idx)
    available = [i for i in range(len(data)) if i != idx]
    return rng.sample(available, num_fewshot)


def render(task_type, item, delimiter, fewshot):
    context = dict(fewshot_examples=fewshot, continuation_delimiter=delimiter, item=item)
    if task_type == "multiple_choice":
        template = Template(MC_TEMPLATE)
        return [template.render(choice=choice, **context) for choice in item["choices"]]
    if task_type == "schema":
        template = Template(SCHEMA_TEMPLATE)
        return [template.render(context=option, **context) for option in item["context_options"]]
    template = Template(LM_TEMPLATE)
    return [template.render(include_continuation=False, **context).strip(),
            template.render(include_continuation=True, **context)]


# ----------------------------------------------------------------------------- tokens
class Tokenizer:
    """tiktoken over our tokenizer folder; __call__ encodes ordinary text with BOS first."""

    def __init__(self, folder):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        meta = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
        self.enc = tiktoken.Encoding(name="nanochat-core", pat_str=meta["pattern"],
                                     mergeable_ranks=load_tiktoken_bpe(str(Path(folder) / meta["ranks_file"])),
                                     special_tokens=meta["special_tokens"])
        self.bos = self.enc.encode_single_token("<|bos|>")

    def __call__(self, prompts):
        return [[self.bos] + ids for ids in self.enc.encode_ordinary_batch(prompts)]


def find_common_length(sequences, direction):
    min_len = min(len(s) for s in sequences)
    indices = range(min_len) if direction == "left" else range(-1, -min_len - 1, -1)
    for i, idx in enumerate(indices):
        token = sequences[0][idx]
        if not all(s[idx] == token for s in sequences):
            return i
    return min_len


def sequences(task_type, tokens):
    """(tokens, starts, ends) as batch_sequences_{mc,schema,lm}."""
    if task_type == "multiple_choice":
        start = find_common_length(tokens, "left")
        return tokens, [start] * len(tokens), [len(t) for t in tokens]
    if task_type == "schema":
        suffix = find_common_length(tokens, "right")
        ends = [len(t) for t in tokens]
        return tokens, [max(1, e - suffix) for e in ends], ends  # identical options: score after BOS
    without, with_ = tokens
    assert len(without) < len(with_) and with_[:len(without)] == without
    return [with_], [len(without)], [len(with_)]


def crop(tokens, starts, ends, max_tokens):
    """Fits an item into max_tokens positions: the same count off the front of every sequence."""
    n = max(0, max(len(t) for t in tokens) - max_tokens)
    assert all(s - n >= 1 for s in starts), "the continuation does not fit in the model's positions"
    return [t[n:] for t in tokens], [s - n for s in starts], [e - n for e in ends]


def prepare(task, data, idx, tokenizer):
    label, _, task_type, shots, delimiter, _ = task
    picks = fewshot_indices(data, idx, shots)
    prompts = render(task_type, data[idx], delimiter, [data[i] for i in picks])
    tokens, starts, ends = sequences(task_type, tokenizer(prompts))
    return dict(task=label, index=idx, fewshot=picks, prompts=prompts, tokens=tokens, start=starts, end=ends)


# ----------------------------------------------------------------------------- model
def load_model(checkpoint, device):
    import torch
    from safetensors import safe_open

    sys.path.insert(0, str(HERE.parent / "pretrain"))
    import reference_nanochat as ref

    checkpoint = Path(checkpoint)
    step = checkpoint.stem.split("_")[-1]
    config = json.loads((checkpoint.parent / f"meta_{step}.json").read_text())["model_config"]
    model = ref.GPT(config["n_layer"], config["vocab_size"], config["sequence_len"])
    assert model.n_embd == config["n_embd"] and model.n_head == config["n_head"], "not a --depth model"
    with safe_open(str(checkpoint), framework="pt") as f:
        model.load_state_dict({k: f.get_tensor(k) for k in f.keys()}, strict=True)
    return model.to(device).eval(), 10 * config["sequence_len"]


def evaluate_item(model, item, task_type, gold, pad, positions, device):
    import torch
    import torch.nn.functional as F

    tokens, starts, ends = crop(item["tokens"], item["start"], item["end"], positions)
    input_ids = torch.full((len(tokens), max(len(t) for t in tokens)), pad, dtype=torch.long)
    for i, t in enumerate(tokens):
        input_ids[i, :len(t)] = torch.tensor(t, dtype=torch.long)
    input_ids = input_ids.to(device)
    outputs = model(input_ids)
    batch, width = input_ids.size()
    targets = torch.roll(input_ids, shifts=-1, dims=1)
    losses = F.cross_entropy(outputs.view(batch * width, -1), targets.view(batch * width),
                             reduction="none").view(batch, width)
    losses[:, -1] = float("nan")
    predictions = outputs.argmax(dim=-1)
    if task_type == "language_modeling":
        s, e = starts[0], ends[0]
        return bool(torch.all(predictions[0, s - 1:e - 1] == input_ids[0, s:e]).item())
    mean_losses = [losses[i, s - 1:e - 1].mean().item() for i, (s, e) in enumerate(zip(starts, ends))]
    return mean_losses.index(min(mean_losses)) == gold


# ----------------------------------------------------------------------------- commands
def selected_tasks(args):
    wanted = set(args.tasks.split(",")) if args.tasks else None
    for task in TASKS:
        if wanted is not None and task[0] not in wanted:
            continue
        files = task_files(args.data, task[1])
        if not files:
            if task[5]:
                continue
            raise SystemExit(f"no data for {task[0]} under {args.data}")
        yield task, files


def cmd_items(args):
    tokenizer = Tokenizer(args.tokenizer)
    with open(args.out, "w", encoding="utf-8") as out:
        for task, files in selected_tasks(args):
            data = load_task(files, args.max_problems)
            for idx in range(len(data)):
                out.write(json.dumps(prepare(task, data, idx, tokenizer), ensure_ascii=False) + "\n")


def cmd_eval(args):
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    tokenizer = Tokenizer(args.tokenizer)
    model, positions = load_model(args.checkpoint, device)
    baselines = random_baselines(args.data)
    autocast = torch.amp.autocast(device_type="cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    centered_all, items_all, seconds_all = [], 0, 0.0
    with torch.no_grad(), autocast:
        for task, files in selected_tasks(args):
            label, task_type = task[0], task[2]
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            data = load_task(files, args.max_problems)
            correct = sum(evaluate_item(model, prepare(task, data, idx, tokenizer), task_type, data[idx].get("gold"),
                                        tokenizer.bos, positions, device) for idx in range(len(data)))
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            accuracy = correct / len(data)
            b = 0.01 * baselines[label]
            centered = (accuracy - b) / (1.0 - b)
            centered_all.append(centered)
            items_all += len(data)
            seconds_all += seconds
            print(json.dumps(dict(kind="task", name=label, correct=correct, items=len(data), accuracy=accuracy,
                                  centered=centered, seconds=seconds)), flush=True)
    print(json.dumps(dict(kind="summary", tasks=len(centered_all), core=sum(centered_all) / len(centered_all),
                          items=items_all, seconds=seconds_all, items_per_sec=items_all / seconds_all,
                          threads=torch.get_num_threads(), device=str(device), torch=torch.__version__)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("items", "eval"):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True, help="the shared data folder (eval_core/, eval_hellaswag/)")
        p.add_argument("--tokenizer", required=True, help="our tokenizer folder")
        p.add_argument("--max-problems", type=int, default=-1, help="items per task after the shuffle (-1: all)")
        p.add_argument("--tasks", default="", help="comma-separated labels (default: every task there is)")
        if name == "items":
            p.add_argument("--out", required=True)
        else:
            p.add_argument("--checkpoint", required=True, help="our model_<step>.safetensors")
            p.add_argument("--device", default="cpu")
            p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    args = ap.parse_args()
    cmd_items(args) if args.command == "items" else cmd_eval(args)


if __name__ == "__main__":
    main()

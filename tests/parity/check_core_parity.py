#!/usr/bin/env python3
"""CORE parity (tests/parity/test_core_parity.cpp runs it with the PyTorch venv's python).

Holds our CORE evaluation to nanochat's, restated in bench/core/reference_core.py:
1. items: for every task and item, ours (core_items_dump's JSON lines) and the oracle's give
   the same few-shot indices, the same prompts, the same token ids and the same spans;
2. accuracy: on one checkpoint, `nanochat run eval --kind core` (its eval/base-core.json)
   and the oracle's evaluation with nanochat's GPT in PyTorch count the same correct items
   in every task.

  check_core_parity.py --data DIR --tokenizer DIR --checkpoint FILE --max-problems N
      --ours-items FILE --ours-result FILE [--reference FILE]

--reference: the oracle's per-task counts as JSON; computed and written there when the file
does not exist, read from it when it does (so a second check of altered files skips the
model). Prints one line per task and exits 1 on any difference.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "core"))
import reference_core as ref  # noqa: E402

FIELDS = ("fewshot", "prompts", "tokens", "start", "end")


def oracle_items(args):
    tokenizer = ref.Tokenizer(args.tokenizer)
    items = {}
    for task, files in ref.selected_tasks(args):
        data = ref.load_task(files, args.max_problems)
        items[task[0]] = [ref.prepare(task, data, idx, tokenizer) for idx in range(len(data))]
    return items, tokenizer


def oracle_counts(args, items, tokenizer):
    import torch

    torch.set_num_threads(1)
    model, positions = ref.load_model(args.checkpoint, torch.device("cpu"))
    counts = {}
    with torch.no_grad():
        for task, files in ref.selected_tasks(args):
            data = ref.load_task(files, args.max_problems)
            counts[task[0]] = sum(ref.evaluate_item(model, item, task[2], data[item["index"]].get("gold"), tokenizer.bos,
                                                    positions, "cpu") for item in items[task[0]])
    return counts


def first_difference(ours, theirs):
    for field in FIELDS:
        if ours.get(field) != theirs[field]:
            return field
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--max-problems", type=int, required=True)
    ap.add_argument("--ours-items", required=True)
    ap.add_argument("--ours-result", required=True)
    ap.add_argument("--reference", default="")
    args = ap.parse_args()
    args.tasks = ""

    expected, tokenizer = oracle_items(args)
    ours = {}
    with open(args.ours_items, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            ours.setdefault(item["task"], []).append(item)
    reference = Path(args.reference) if args.reference else None
    if reference and reference.exists():
        counts = json.loads(reference.read_text())
    else:
        counts = oracle_counts(args, expected, tokenizer)
        if reference:
            reference.write_text(json.dumps(counts))
    result = {t["name"]: t for t in json.loads(Path(args.ours_result).read_text())["tasks"]}

    failures = 0
    total_items = total_tokens = 0
    print(f"{'task':<34} {'items':>5} {'tokens':>8}  prompts  {'ours':>7} {'oracle':>7}")
    for label, theirs in expected.items():
        mine = ours.get(label, [])
        problems = []
        if len(mine) != len(theirs):
            problems.append(f"{len(mine)} items, the oracle has {len(theirs)}")
        for a, b in zip(mine, theirs):
            field = first_difference(a, b)
            if field:
                problems.append(f"item {b['index']}: {field} differ")
                break
        tokens = sum(len(t) for item in theirs for t in item["tokens"])
        total_items += len(theirs)
        total_tokens += tokens
        task = result.get(label)
        ours_acc = task["correct"] / task["items"] if task else float("nan")
        oracle_acc = counts[label] / len(theirs)
        if not task or task["correct"] != counts[label] or task["items"] != len(theirs):
            problems.append(f"accuracy {ours_acc:.4f} vs the oracle's {oracle_acc:.4f}")
        status = "ok" if not problems else "FAIL " + "; ".join(problems)
        failures += bool(problems)
        print(f"{label:<34} {len(theirs):>5} {tokens:>8}  {'same' if not any('differ' in p for p in problems) else 'DIFF':<7}"
              f"  {ours_acc:7.4f} {oracle_acc:7.4f}  {status}")
    extra = sorted(set(ours) - set(expected))
    if extra:
        print(f"FAIL ours has tasks the oracle does not: {', '.join(extra)}")
        failures += 1
    if failures:
        print(f"CORE parity: {failures} task(s) differ")
        sys.exit(1)
    print(f"CORE parity: all {len(expected)} tasks agree ({total_items} items, {total_tokens} tokens; "
          f"few-shot picks, prompts, token ids, spans and correct counts)")


if __name__ == "__main__":
    main()

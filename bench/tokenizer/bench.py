#!/usr/bin/env python3
"""The tokenizer benchmark of issue 3, run by run.sh in the bench venv (requirements.txt
beside this file). With no subcommand it runs everything and prints a table of times and
ratios:

  bench.py --build BUILD_DIR --corpus CORPUS [--vocab 8192 --vocab 32768] [--threads N]

training: our whole `nanochat run tokenizer` process (start-up, reading, training, saving)
against the training call alone of rustbpe (as nanochat drives it) and of sentencepiece
BPE, each given the same documents capped at 10,000 characters and the same thread count;
encoding: MB/s on one thread and on all, ours against tiktoken loaded with our own ranks,
pattern and special tokens. Ours and rustbpe run --repeat times (default 3) and the
fastest run counts, since other work on the machine only ever adds time; sentencepiece,
the slow reference, runs once. Each peer runs in a child process of its own, one
subcommand each, printing one JSON line:

  rustbpe  CORPUS VOCAB OUT_RANKS      train as nanochat's tok_train does (doc cap 10,000
                                       characters), time the train_from_iterator call, and
                                       write the ranks (hex bytes, one token per line)
  spm      CORPUS VOCAB THREADS WORK   sentencepiece BPE on the same capped documents
                                       (written one line per text line into WORK), time
                                       the training call
  tiktoken CORPUS TOKENIZER_DIR THREADS
                                       encode throughput with our ranks, pattern and
                                       specials: one thread, then encode_ordinary_batch
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)
DOC_CAP = 10000


def documents(corpus, cap):
    files = [corpus] if os.path.isfile(corpus) else sorted(glob.glob(os.path.join(corpus, "**", "*.jsonl"), recursive=True))
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"]
                yield text[:cap] if cap else text


def rustbpe(corpus, vocab, out_ranks):
    import rustbpe as rb

    docs = list(documents(corpus, DOC_CAP))
    tokenizer = rb.Tokenizer()
    start, cpu = time.perf_counter(), time.process_time()
    tokenizer.train_from_iterator(iter(docs), int(vocab) - 9, pattern=SPLIT_PATTERN)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    ranks = sorted(tokenizer.get_mergeable_ranks(), key=lambda item: item[1])
    with open(out_ranks, "w") as out:
        for token, _ in ranks:
            out.write(bytes(token).hex() + "\n")
    print(json.dumps({"train_s": seconds, "train_cpu_s": cpu, "tokens": len(ranks)}))


def spm(corpus, vocab, threads, work):
    import sentencepiece as sp

    os.makedirs(work, exist_ok=True)
    text_path = os.path.join(work, "corpus.txt")
    with open(text_path, "w", encoding="utf-8") as out:
        for doc in documents(corpus, DOC_CAP):
            for line in doc.split("\n"):
                if line.strip():
                    out.write(line + "\n")
    start = time.perf_counter()
    sp.SentencePieceTrainer.train(
        input=text_path, model_prefix=os.path.join(work, "spm"), model_type="bpe", vocab_size=int(vocab),
        num_threads=int(threads), input_sentence_size=0, character_coverage=1.0, byte_fallback=True,
        minloglevel=2)
    print(json.dumps({"train_s": time.perf_counter() - start}))


def tiktoken_encode(corpus, folder, threads):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        meta = json.load(f)
    encoding = tiktoken.Encoding(name="nanochat-bench", pat_str=meta["pattern"],
                                 mergeable_ranks=load_tiktoken_bpe(os.path.join(folder, meta["ranks_file"])),
                                 special_tokens=meta["special_tokens"])
    docs = list(documents(corpus, 0))
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    for doc in docs[:4]:
        encoding.encode_ordinary(doc)
    start = time.perf_counter()
    tokens = sum(len(encoding.encode_ordinary(doc)) for doc in docs)
    single = time.perf_counter() - start
    start = time.perf_counter()
    encoding.encode_ordinary_batch(docs, num_threads=int(threads))
    batch = time.perf_counter() - start
    print(json.dumps({"bytes": nbytes, "tokens": tokens, "single_s": single, "batch_s": batch}))


def child(*args):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(command, env):
    """Wall and CPU seconds (user + system, all threads) of a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def read_ours_ranks(folder):
    import base64

    with open(os.path.join(folder, "tokenizer.tiktoken")) as f:
        return [base64.b64decode(line.split()[0]).hex() for line in f]


def bench(args):
    host = os.path.join(args.build, "bin", "nanochat")
    encoder = os.path.join(args.build, "bin", "nanochat_bench_tokenizer_encode")
    corpus_mb = sum(len(d.encode("utf-8")) for d in documents(args.corpus, DOC_CAP)) / 1e6
    print(f"corpus {args.corpus}: {corpus_mb:.1f} MB after the 10,000-character cap; {args.threads} threads")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for vocab in args.vocab:
            base = os.path.join(work, f"base-{vocab}")
            env = dict(os.environ, NANOCHAT_BASE_DIR=base, NANOCHAT_LOG="warn")
            command = [host, "run", "tokenizer", "--corpus", args.corpus, "--vocab-size", str(vocab),
                       "--threads", str(args.threads), "--eval-docs", "0"]
            rb_ranks = os.path.join(work, f"rustbpe-{vocab}.txt")
            ours, rb_runs = [], []
            for _ in range(args.repeat):  # interleaved, so both see the same machine
                ours.append(timed(command, env))
                rb = child("rustbpe", args.corpus, str(vocab), rb_ranks)
                rb_runs.append((rb["train_s"], rb["train_cpu_s"]))
            with open(rb_ranks) as f:
                same = f.read().split() == read_ours_ranks(os.path.join(base, "tokenizer"))
            spm_s = child("spm", args.corpus, str(vocab), str(args.threads), os.path.join(work, f"spm-{vocab}"))["train_s"]
            rows.append((vocab, min(ours), min(rb_runs), spm_s, same))

        print("\ntraining (seconds; ours = the whole nanochat process; CPU = all threads, user + system)")
        print(f"{'vocab':>6} {'ours':>6} {'rustbpe':>8} {'spm':>7} {'vs rustbpe':>11} {'vs spm':>7} "
              f"{'ours CPU':>9} {'rustbpe CPU':>12}  same merges as rustbpe")
        for vocab, (ours, ours_cpu), (rb, rb_cpu), spm_s, same in rows:
            print(f"{vocab:>6} {ours:>6.2f} {rb:>8.2f} {spm_s:>7.2f} {rb / ours:>10.2f}x {spm_s / ours:>6.1f}x "
                  f"{ours_cpu:>9.2f} {rb_cpu:>12.2f}  {'yes' if same else 'NO'}")

        print("\nencoding (MB/s; whole documents; ours and tiktoken use the same saved tokenizer)")
        print(f"{'vocab':>6} {'ours 1t':>8} {'tiktoken 1t':>12} {'ratio':>6} {'ours all':>9} {'tiktoken all':>13} {'ratio':>6}")
        for vocab in args.vocab:
            folder = os.path.join(work, f"base-{vocab}", "tokenizer")
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run([encoder, folder, args.corpus, str(args.threads)], check=True,
                                     capture_output=True, text=True)
                runs.append((json.loads(out.stdout), child("tiktoken", args.corpus, folder, str(args.threads))))
            ours = dict(runs[0][0], single_s=min(r[0]["single_s"] for r in runs), batch_s=min(r[0]["batch_s"] for r in runs))
            theirs = dict(runs[0][1], single_s=min(r[1]["single_s"] for r in runs), batch_s=min(r[1]["batch_s"] for r in runs))
            if ours["tokens"] != theirs["tokens"]:
                print(f"  warning: token counts differ: ours {ours['tokens']}, tiktoken {theirs['tokens']}")
            mb = ours["bytes"] / 1e6
            o1, t1, oa, ta = mb / ours["single_s"], mb / theirs["single_s"], mb / ours["batch_s"], mb / theirs["batch_s"]
            print(f"{vocab:>6} {o1:>8.1f} {t1:>12.1f} {o1 / t1:>5.1f}x {oa:>9.1f} {ta:>13.1f} {oa / ta:>5.1f}x")


if __name__ == "__main__":
    commands = {"rustbpe": rustbpe, "spm": spm, "tiktoken": tiktoken_encode}
    if len(sys.argv) > 1 and sys.argv[1] in commands:
        commands[sys.argv[1]](*sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(description="tokenizer benchmark (issue 3)")
        parser.add_argument("--build", required=True, help="the CMake build folder (bin/nanochat, plugins)")
        parser.add_argument("--corpus", required=True)
        parser.add_argument("--vocab", type=int, action="append", help="repeatable; default 8192 and 32768")
        parser.add_argument("--threads", type=int, default=os.cpu_count())
        parser.add_argument("--repeat", type=int, default=3, help="runs of ours and of rustbpe/tiktoken; the fastest counts")
        args = parser.parse_args()
        args.vocab = args.vocab or [8192, 32768]
        bench(args)

#!/usr/bin/env python3
"""Test oracle for the tokenizer tests (never part of the product). Run with the oracle
venv's python (packaging/oracle-requirements.txt: `regex`, `tiktoken`).

  split  DOCS OUT        chunks of each document by Python's `regex` module and the SPEC
                         pattern; OUT gets one line per document: the chunks' UTF-8 byte
                         lengths, space-separated
  encode DIR DOCS OUT [--allow-special]
                         tiktoken, given the tokenizer folder DIR (tokenizer.tiktoken ranks,
                         tokenizer.json pattern and special tokens); OUT gets one line of ids
                         per document
  classes OUT            for every code point 0..0x10FFFF one letter: L (\\p{L}), N (\\p{N}),
                         S (\\s), or - (none; surrogates too)

DOCS is JSON Lines, one {"text": ...} per document.
"""
import json
import sys

SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)


def read_docs(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def split(docs_path, out_path):
    import regex

    pattern = regex.compile(SPLIT_PATTERN)
    with open(out_path, "w") as out:
        for doc in read_docs(docs_path):
            out.write(" ".join(str(len(m.encode("utf-8"))) for m in pattern.findall(doc)) + "\n")


def encode(folder, docs_path, out_path, allow_special):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    with open(f"{folder}/tokenizer.json", encoding="utf-8") as f:
        meta = json.load(f)
    encoding = tiktoken.Encoding(
        name="nanochat-test",
        pat_str=meta["pattern"],
        mergeable_ranks=load_tiktoken_bpe(f"{folder}/{meta['ranks_file']}"),
        special_tokens=meta["special_tokens"],
    )
    with open(out_path, "w") as out:
        for doc in read_docs(docs_path):
            ids = encoding.encode(doc, allowed_special="all") if allow_special else encoding.encode_ordinary(doc)
            out.write(" ".join(map(str, ids)) + "\n")


def classes(out_path):
    import regex

    tests = [("L", regex.compile(r"\p{L}")), ("N", regex.compile(r"\p{N}")), ("S", regex.compile(r"\s"))]
    letters = []
    for cp in range(0x110000):
        letter = "-"
        if not 0xD800 <= cp < 0xE000:
            ch = chr(cp)
            for name, test in tests:
                if test.match(ch):
                    letter = name
                    break
        letters.append(letter)
    with open(out_path, "w") as out:
        out.write("".join(letters))


def main(argv):
    if len(argv) >= 3 and argv[0] == "split":
        split(argv[1], argv[2])
    elif len(argv) >= 4 and argv[0] == "encode":
        encode(argv[1], argv[2], argv[3], "--allow-special" in argv[4:])
    elif len(argv) >= 2 and argv[0] == "classes":
        classes(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Test fixture writer (never part of the product): small pretraining shards made by pyarrow,
Parquet's reference writer, laid out as nanochat's FineWeb-Edu shards are (a `text` column,
zstd, row groups of a fixed size), for test_download.cpp to serve and download.

  parquet_shards.py OUT_DIR SHARDS ROWS   writes OUT_DIR/shard_00000.parquet ... with ROWS
                                          documents each, and OUT_DIR/documents.jsonl with
                                          every document (to train a tokenizer on)

Exits 77 when pyarrow is missing, so the test can skip with a reason.
"""
import json
import os
import random
import sys

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:
    print("pyarrow is not installed (see packaging/oracle-requirements.txt)", file=sys.stderr)
    sys.exit(77)

WORDS = ("the a of to and in is was for on that with as by at from it this be are an or "
         "school student learning history science water energy plant animal cell earth "
         "teacher reading language number system change form study world people time").split()


def document(rng):
    sentences = []
    for _ in range(rng.randint(2, 6)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 14))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def main():
    out_dir, shards, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "documents.jsonl"), "w") as everything:
        for index in range(shards):
            rng = random.Random(index)
            texts = [document(rng) for _ in range(rows)]
            table = pa.table({"text": pa.array(texts, type=pa.string())})
            pq.write_table(table, os.path.join(out_dir, f"shard_{index:05d}.parquet"),
                           row_group_size=16, compression="zstd", use_dictionary=False)
            for text in texts:
                everything.write(json.dumps({"text": text}) + "\n")


if __name__ == "__main__":
    main()

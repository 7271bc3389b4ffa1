#!/usr/bin/env python3
"""Test oracle for nanochat::PythonRandom (never part of the product): CPython's own
`random.Random`, driven through a fixed program of calls. test_python_random.cpp runs the
same program in C++ and compares every value.

  python_random_oracle.py SEED...     one JSON object per seed on stdout

random() values are written as integers (random() * 2**53, exact), uniform() as repr (which
round-trips a double exactly).
"""
import json
import random
import sys

GETRANDBITS_K = [0, 1, 5, 31, 32, 33, 53, 63, 64]
RANDBELOW_N = [1, 2, 3, 7, 100, 2**31 + 1, 2**32, 2**40 + 5, 2**63 + 11]
SHUFFLE_N = [0, 1, 2, 10, 1000]
SAMPLE_NK = [(10, 3), (30, 30), (26, 7), (1000, 5), (1000, 50), (100000, 1000), (5, 0)]


def program(seed):
    rng = random.Random(seed)
    out = {"seed": seed}
    out["random"] = [int(rng.random() * 2**53) for _ in range(7)]
    out["getrandbits"] = [rng.getrandbits(k) for k in GETRANDBITS_K]
    out["randbelow"] = [rng.randrange(n) for n in RANDBELOW_N for _ in range(3)]
    out["randint"] = [rng.randint(-5, 5) for _ in range(5)] + [rng.randint(0, 10**12) for _ in range(3)]
    shuffles = []
    for n in SHUFFLE_N:
        x = list(range(n))
        rng.shuffle(x)
        shuffles.append(x)
    out["shuffle"] = shuffles
    out["choice"] = [rng.choice(list(range(17))) for _ in range(3)] + [
        ord(rng.choice("abcdefghijklmnopqrstuvwxyz")) for _ in range(3)]
    out["sample"] = [rng.sample(range(n), k) for n, k in SAMPLE_NK]
    out["uniform"] = [repr(rng.uniform(-2.5, 7.0)) for _ in range(3)]
    out["after"] = int(rng.random() * 2**53)
    return out


def main(argv):
    if not argv:
        sys.exit(__doc__)
    for seed in argv:
        print(json.dumps(program(int(seed))))


if __name__ == "__main__":
    main(sys.argv[1:])

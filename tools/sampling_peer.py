#!/usr/bin/python3
"""PyTorch peer of bench/bench_sampling.cpp: partner-class draws per second.

Two ways a PyTorch training script draws LFM partners, at C = 100 and 1000 classes:
  - torch.multinomial over the rows P[anchor_classes] of the class-pair matrix, in chunks
    (the vectorised way);
  - the released LFM code's way: a Python loop per pair, random.choices over the anchor's
    row, then the next instance of the partner class's shuffled pool (here with the rows
    pre-converted to Python lists, which is kinder than the reference's tensor rows).
Prints one line per case with draws/s, single-threaded and with all threads, so
bench_sampling's draws/s can be put beside it. Uses Debian's python3-torch (1.13).
"""
import math
import os
import random
import sys
import time

import torch


def pair_matrix(classes: int, tau: float, seed: int) -> torch.Tensor:
    """P = softmax_row(S / tau) over j != i, S the cosines of random embeddings."""
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.nn.functional.normalize(torch.randn(classes, 16, generator=generator), dim=1)
    logits = embeddings @ embeddings.T / tau
    logits.fill_diagonal_(-math.inf)
    return torch.softmax(logits, dim=1)


def anchor_classes(classes: int, count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(classes, (count,), generator=generator)


def timed(function, minimum_seconds: float = 1.0):
    """Runs function() (returning the number of draws it made) until minimum_seconds pass."""
    draws, start = 0, time.perf_counter()
    while True:
        draws += function()
        elapsed = time.perf_counter() - start
        if elapsed >= minimum_seconds:
            return draws / elapsed


def multinomial_rate(matrix: torch.Tensor, anchors: torch.Tensor, chunk: int = 16384) -> float:
    def run():
        for begin in range(0, anchors.numel(), chunk):
            rows = matrix.index_select(0, anchors[begin:begin + chunk])
            torch.multinomial(rows, 1, replacement=True)
        return anchors.numel()
    return timed(run)


def python_loop_rate(matrix: torch.Tensor, anchors: torch.Tensor, instances_per_class: int = 20) -> float:
    classes = matrix.shape[0]
    rows = matrix.tolist()
    population = range(classes)
    pools = [[] for _ in range(classes)]
    anchor_list = anchors.tolist()[:200_000]

    def next_instance(j):
        if not pools[j]:
            pools[j] = random.sample(range(j * instances_per_class, (j + 1) * instances_per_class),
                                     instances_per_class)
        return pools[j].pop()

    def run():
        sink = 0
        for i in anchor_list:
            j = random.choices(population, rows[i])[0]
            sink ^= next_instance(j)
        return len(anchor_list)
    return timed(run)


def main() -> int:
    random.seed(0)
    default_threads = torch.get_num_threads()
    cores = os.cpu_count() or 1
    print(f"torch {torch.__version__}, {default_threads} threads by default, {cores} cores")
    for classes in (100, 1000):
        matrix = pair_matrix(classes, tau=0.05, seed=1)
        anchors = anchor_classes(classes, 1 << 18, seed=2)
        for threads in sorted({1, cores}):
            torch.set_num_threads(threads)
            rate = multinomial_rate(matrix, anchors)
            print(f"torch.multinomial C={classes} threads={threads}: {rate:,.0f} draws/s")
        torch.set_num_threads(default_threads)
        rate = python_loop_rate(matrix, anchors)
        print(f"per-pair python loop (random.choices + pool) C={classes}: {rate:,.0f} draws/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Times tailor's losses' PyTorch counterparts, forward + backward, in eager mode.

Same shapes as bench/bench_losses.cpp (B = 256, C = 1000), same thread count (2 unless
--threads), each loss written the way the reference implementations write it. With the
JSON of a tailor benchmark run it prints the ratio PyTorch time / tailor time per case:

    OMP_NUM_THREADS=2 build/bench/tailor_bench_losses --benchmark_format=json > losses.json
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ATEN_CPU_CAPABILITY=avx512 \
        /usr/bin/python3 tools/loss_peer.py losses.json

(ATEN_CPU_CAPABILITY=avx512 on AVX-512 CPUs, as tools/run_benchmarks.sh sets it: Debian's
PyTorch otherwise runs its AVX2 kernels, which took 10 to 45% longer here for the softmax
losses and more for LDAM and MMS; see docs/benchmarks.md.)

Pair targets {first, second, lambda} are given to PyTorch the way the references take
them: a dense mixed target for the softmax losses (built outside the timed region, which
favours PyTorch), and two weighted hard terms for the margin losses (LDAM, MMS). The
"dense" cases hand tailor that same mixed target as a [B, C] matrix; the "full" cases give
both sides a soft target over every class (a softmax of random scores).
"""
import argparse
import json
import os
import re
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

B, C, D = 256, 1000, 512


def workload(seed=2024):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(B, C, generator=g)
    labels = torch.randint(0, C, (B,), generator=g)
    first = torch.randint(0, C, (B,), generator=g)
    second = torch.randint(0, C, (B,), generator=g)
    lam = torch.rand(B, generator=g)
    mixed = torch.zeros(B, C)
    mixed[torch.arange(B), first] += lam
    mixed[torch.arange(B), second] += 1 - lam
    counts = torch.tensor([int(500.0 * 0.01 ** (k / (C - 1))) for k in range(C)], dtype=torch.float32)
    text = F.normalize(torch.randn(C, D, generator=g), dim=1)
    spread = torch.softmax(torch.randn(B, C, generator=g), dim=1)
    return dict(z=z, labels=labels, first=first, second=second, lam=lam, mixed=mixed, counts=counts, text=text,
                spread=spread)


def losses(w):
    """(loss, target kind) -> f(z) returning the scalar mean loss, the reference way."""
    labels, first, second, lam, mixed, spread = w["labels"], w["first"], w["second"], w["lam"], w["mixed"], w["spread"]
    log_n = torch.log(w["counts"])
    log_prior = torch.log(w["counts"] / w["counts"].sum())
    rows = torch.arange(B)

    def focal_hard(z, gamma=2.0):
        logp = F.log_softmax(z, dim=1).gather(1, labels[:, None]).squeeze(1)
        return (-(1 - logp.exp()) ** gamma * logp).mean()

    def focal_soft(z, t, gamma=2.0):
        logp = F.log_softmax(z, dim=1)
        return (-(t * (1 - logp.exp()) ** gamma * logp).sum(1)).mean()

    margins = 0.5 * (w["counts"].min() / w["counts"]) ** 0.25

    def ldam_terms(z, y, s=30.0):
        # the LDAM reference: lower the target logit by its class margin, scale, CE
        index = torch.zeros_like(z, dtype=torch.bool).scatter_(1, y[:, None], True)
        batch_m = torch.matmul(margins[None, :], index.float().t()).view(-1, 1)
        output = torch.where(index, z - batch_m, z)
        return F.cross_entropy(s * output, y, reduction="none")

    mms_margin = 0.3 * (1 - w["text"] @ w["text"].t())

    def mms_terms(z, y, temperature=0.01):
        return F.cross_entropy((z + mms_margin[y]) / temperature, y, reduction="none")

    rare = ((w["counts"] / w["counts"].sum()) < 5e-4).float()

    def equalization(z, t):
        keep = 1 - rare[None, :] * (1 - t)  # beta = 1
        return (-(t * F.log_softmax(z + torch.log(keep), dim=1)).sum(1)).mean()

    one_hot = F.one_hot(labels, C).float()
    return {
        ("cross_entropy", "hard"): lambda z: F.cross_entropy(z, labels),
        ("cross_entropy", "pair"): lambda z: F.cross_entropy(z, mixed),
        ("cross_entropy", "dense"): lambda z: F.cross_entropy(z, mixed),
        ("cross_entropy", "full"): lambda z: F.cross_entropy(z, spread),
        ("balanced_softmax", "hard"): lambda z: F.cross_entropy(z + log_n, labels),
        ("balanced_softmax", "pair"): lambda z: F.cross_entropy(z + log_n, mixed),
        ("logit_adjustment", "hard"): lambda z: F.cross_entropy(z + log_prior, labels),
        ("logit_adjustment", "pair"): lambda z: F.cross_entropy(z + log_prior, mixed),
        ("focal", "hard"): focal_hard,
        ("focal", "pair"): lambda z: focal_soft(z, mixed),
        ("focal", "dense"): lambda z: focal_soft(z, mixed),
        ("focal", "full"): lambda z: focal_soft(z, spread),
        ("ldam", "hard"): lambda z: ldam_terms(z, labels).mean(),
        ("ldam", "pair"): lambda z: (lam * ldam_terms(z, first) + (1 - lam) * ldam_terms(z, second)).mean(),
        ("mms", "hard"): lambda z: mms_terms(z, labels).mean(),
        ("mms", "pair"): lambda z: (lam * mms_terms(z, first) + (1 - lam) * mms_terms(z, second)).mean(),
        ("equalization", "hard"): lambda z: equalization(z, one_hot),
        ("equalization", "pair"): lambda z: equalization(z, mixed),
    }


def time_case(f, z0, min_seconds, repeats):
    z = z0.clone().requires_grad_(True)

    def step():
        z.grad = None
        f(z).backward()

    for _ in range(10):
        step()
    n = 1
    while True:  # calibrate the batch of steps to about min_seconds / repeats
        start = time.perf_counter()
        for _ in range(n):
            step()
        elapsed = time.perf_counter() - start
        if elapsed > min_seconds / repeats:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            step()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples) * 1e6


def tailor_times(path):
    """{(backend, loss, kind): microseconds} from a --benchmark_format=json file."""
    with open(path) as f:
        data = json.load(f)
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" and b.get("aggregate_name") != "median":
            continue
        m = re.match(r"(\w+)/(\w+)/(\w+)/B:(\d+)/C:(\d+)", b["name"])
        if not m:
            continue
        key = (m.group(1), m.group(2), m.group(3))
        out[key] = b["real_time"] * scale[b.get("time_unit", "ns")]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tailor_json", nargs="?", help="output of tailor_bench_losses --benchmark_format=json")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-seconds", type=float, default=1.0, help="timing per case")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    w = workload()
    cases = losses(w)
    ours = tailor_times(args.tailor_json) if args.tailor_json else {}
    backends = sorted({k[0] for k in ours})
    header = f"{'loss':18} {'target':6} {'PyTorch us':>11}"
    for be in backends:
        header += f" {be + ' us':>11} {'ratio':>7}"
    capability = os.environ.get("ATEN_CPU_CAPABILITY", "the build's default")
    print(f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads, kernels {capability}, "
          f"B={B} C={C}, forward+backward")
    print(header)
    for (loss, kind), f in cases.items():
        peer = time_case(f, w["z"], args.min_seconds, args.repeats)
        line = f"{loss:18} {kind:6} {peer:11.1f}"
        for be in backends:
            t = ours.get((be, loss, kind))
            line += f" {t:11.1f} {peer / t:7.1f}" if t else f" {'-':>11} {'-':>7}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

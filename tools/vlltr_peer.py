#!/usr/bin/python3
"""Times the PyTorch eager reference formulation of VL-LTR's LGR head and AnSS.

Same shapes as bench/bench_vlltr.cpp: B = 128, C = 1000, M = 64, D = 512 for the head
(forward, and forward + backward of CE(x_img) + CE(x_txt)); AnSS over 1000 classes x 100
sentences x 20 images per class. The head is the released code's formulation (it
materialises K [C, M, D] and G [B, C, D]; tools/vlltr_reference.py holds it), in float32
with torch.set_num_threads(2). With tailor's benchmark JSON it prints PyTorch time /
tailor time per case:

    OMP_NUM_THREADS=2 build/bench/tailor_bench_vlltr --benchmark_format=json > vlltr.json
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/vlltr_peer.py vlltr.json
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vlltr_reference import lgr_reference  # noqa: E402  (the same formulation the goldens use)

B, C, M, D = 128, 1000, 64, 512
ANSS_C, ANSS_S, ANSS_N = 1000, 100, 20


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def lgr_peer(repeats):
    torch.set_default_dtype(torch.float32)
    g = torch.Generator().manual_seed(2024)
    images = torch.randn(B, D, generator=g)
    sentences = torch.randn(C, M, D, generator=g)
    counts = torch.full((C,), M)
    labels = torch.randint(0, C, (B,), generator=g)
    p = {
        "query_weight": torch.eye(D), "key_weight": torch.eye(D),
        "query_norm_weight": torch.ones(D), "query_norm_bias": torch.zeros(D),
        "key_norm_weight": torch.ones(D), "key_norm_bias": torch.zeros(D),
        "hidden_weight": torch.randn(4 * D, D, generator=g) / math.sqrt(D), "hidden_bias": torch.zeros(4 * D),
        "output_weight": torch.randn(C, 4 * D, generator=g) / math.sqrt(4 * D), "output_bias": torch.zeros(C),
        "logit_scale": torch.tensor(math.log(100.0)),
    }
    for t in p.values():
        t.requires_grad_(True)

    def forward():
        with torch.no_grad():
            lgr_reference(images, sentences, counts, p)

    def forward_backward():
        image_logits, text_logits = lgr_reference(images, sentences, counts, p)
        loss = F.cross_entropy(image_logits, labels) + F.cross_entropy(text_logits, labels)
        loss.backward()

    return {"lgr_forward": timed(forward, repeats), "lgr_forward_backward": timed(forward_backward, repeats)}


def anss_peer(chunk=256):
    g = torch.Generator().manual_seed(7)
    sentences = torch.randn(ANSS_C * ANSS_S, D, generator=g)
    images = torch.randn(ANSS_C * ANSS_N, D, generator=g)
    image_labels = torch.arange(ANSS_C * ANSS_N) % ANSS_C
    sentence_labels = torch.arange(ANSS_C * ANSS_S) // ANSS_S
    scale = 100.0

    def run():
        with torch.no_grad():
            im = F.normalize(images, dim=-1)
            scores = torch.empty(len(sentences))
            for start in range(0, len(sentences), chunk):
                sn = F.normalize(sentences[start:start + chunk], dim=-1)
                logp = (scale * sn @ im.T).log_softmax(-1)
                target = (sentence_labels[start:start + chunk, None] == image_labels[None, :]).float()
                target /= target.sum(-1, keepdim=True)
                scores[start:start + chunk] = -(target * logp).sum(-1)
            scores.view(ANSS_C, ANSS_S).topk(64, dim=1, largest=False)

    return {"anss": timed(run, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tailor_json", nargs="?")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-anss", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peer = lgr_peer(args.repeats)
    if not args.skip_anss:
        peer.update(anss_peer())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for case, seconds in peer.items():
        print(f"pytorch {case:22s} {seconds * 1e3:10.1f} ms")
    if not args.tailor_json:
        return
    with open(args.tailor_json) as f:
        runs = json.load(f)["benchmarks"]
    for run in runs:
        backend, _, case = run["name"].partition("/")
        case = case.split("/")[0]
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[run.get("time_unit", "ns")]
        seconds = run["real_time"] * unit
        extra = f"  {run['GFLOP/s']:7.1f} GFLOP/s" if "GFLOP/s" in run else ""
        if case in peer:
            print(f"tailor {backend:8s} {case:22s} {seconds * 1e3:10.1f} ms  ratio {peer[case] / seconds:6.1f}x{extra}")
        else:
            print(f"tailor {backend:8s} {case:22s} {seconds * 1e3:10.1f} ms{extra}")


if __name__ == "__main__":
    main()

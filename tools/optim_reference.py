#!/usr/bin/python3
"""Golden trajectories of torch.optim.SGD (momentum, Nesterov) and AdamW with a cosine
warm-up schedule, for tests/test_metrics_optim.cpp. Rerun: tools/optim_reference.py"""
import json
import math
import pathlib

import torch

torch.manual_seed(0)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optim"


def cosine(step, base, total, warmup, minimum):
    if step < warmup:
        return base * (step + 1) / warmup
    if step >= total:
        return minimum
    progress = (step - warmup) / (total - warmup)
    return minimum + 0.5 * (base - minimum) * (1 + math.cos(math.pi * progress))


def trajectory(make, steps, schedule):
    p = torch.nn.Parameter(torch.randn(7, dtype=torch.float64))
    start = p.detach().clone()
    grads = torch.randn(steps, 7, dtype=torch.float64)
    opt = make([p])
    for t in range(steps):
        for group in opt.param_groups:
            group["lr"] = schedule(t)
        p.grad = grads[t].clone()
        opt.step()
    return {"start": start.tolist(), "grads": grads.tolist(), "final": p.detach().tolist()}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sched = dict(base=0.1, total=9, warmup=3, minimum=0.001)
    lr = lambda t: cosine(t, sched["base"], sched["total"], sched["warmup"], sched["minimum"])
    cases = {
        "schedule": sched | {"lrs": [lr(t) for t in range(12)]},
        "sgd": trajectory(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4), 12, lr),
        "sgd_nesterov": trajectory(
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.0), 12, lr),
        "adamw": trajectory(
            lambda ps: torch.optim.AdamW(ps, lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05), 12, lr),
    }
    (OUT / "optim.json").write_text(json.dumps(cases, indent=1))
    print("wrote", OUT / "optim.json")


if __name__ == "__main__":
    main()

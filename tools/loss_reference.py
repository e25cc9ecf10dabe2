#!/usr/bin/python3
"""Golden values and gradients for tailor's losses, from PyTorch autograd in float64.

Writes tests/fixtures/losses/<loss>.json. Each case holds float32-representable inputs
(logits, targets, parameters, weights), the reduction, and the float64 reference: the
reduced value, the per-sample values v_i l_i and d(value)/d(logits). With reduction
"none" the value is sum_i v_i l_i, as tailor returns it.

The reference losses are written from their formulas (dense-target form, one term per
target class where the loss defines it so), not from tailor's row math, and the
script checks them against PyTorch's own cross_entropy where PyTorch has the loss.

    /usr/bin/python3 tools/loss_reference.py [--out tests/fixtures/losses]
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

SHAPES = [(1, 1), (1, 7), (5, 7), (5, 13)]
KINDS = ["hard", "pair", "dense"]
REDUCTIONS = ["mean", "sum", "none", "weighted_mean"]


# ---- inputs -----------------------------------------------------------------------------

def f32(values):
    """float32 values as Python floats written with their shortest float32 repr."""
    return [float(repr(np.float32(v))) for v in np.asarray(values, dtype=np.float32).ravel()]


def long_tail_counts(classes, rng):
    """Counts falling from 200 to 1 along a random class order (a CIFAR-LT-like profile)."""
    if classes == 1:
        return [37]
    profile = [max(1, int(200 * (1 / 200) ** (i / (classes - 1)))) for i in range(classes)]
    return [int(c) for c in rng.permutation(profile)]


def make_logits(batch, classes, rng, extreme):
    z = rng.normal(0.0, 2.0, size=(batch, classes)).astype(np.float32)
    if extreme:
        z = rng.uniform(-1e4, 1e4, size=(batch, classes)).astype(np.float32)
        if batch >= 3 and classes >= 3:
            # close competitors at large magnitude: the loss must not cancel
            z[1] = (1e4 - rng.integers(0, 4, size=classes)).astype(np.float32)
            z[2] = (-1e4 + rng.integers(0, 4, size=classes) * 0.5).astype(np.float32)
        if batch >= 5:
            z[4] = rng.normal(0.0, 2.0, size=classes).astype(np.float32)
    return z


def make_target(kind, batch, classes, rng):
    if kind == "hard":
        return {"kind": "hard", "labels": [int(v) for v in rng.integers(0, classes, size=batch)]}
    if kind == "pair":
        first = rng.integers(0, classes, size=batch)
        second = rng.integers(0, classes, size=batch)
        lam = rng.uniform(0.0, 1.0, size=batch).astype(np.float32)
        if batch >= 5:
            lam[0], lam[1] = 1.0, 0.0     # the ends: one class only
            second[2] = first[2]          # equal classes merge
        return {"kind": "pair", "first": [int(v) for v in first], "second": [int(v) for v in second],
                "lambda": f32(lam)}
    probabilities = np.zeros((batch, classes), dtype=np.float32)
    for i in range(batch):
        style = i % 3
        if style == 0:       # a mixup row: two classes
            a, b = rng.integers(0, classes, size=2)
            lam = np.float32(rng.uniform())
            probabilities[i, a] += lam
            probabilities[i, b] += np.float32(1) - lam
        elif style == 1:     # a fully dense row
            p = rng.uniform(0.05, 1.0, size=classes)
            probabilities[i] = (p / p.sum()).astype(np.float32)
        else:                # one-hot
            probabilities[i, rng.integers(0, classes)] = 1.0
    return {"kind": "dense", "probabilities": f32(probabilities)}


def exact(values):
    """The float32 values a fixture list stands for (its decimals are float32's shortest
    repr, which as a float64 is not the float32 value), as float64."""
    return torch.tensor(np.asarray(values, dtype=np.float32).astype(np.float64))


def dense_of(target, batch, classes):
    t = torch.zeros(batch, classes)
    if target["kind"] == "hard":
        t[torch.arange(batch), torch.tensor(target["labels"])] = 1.0
    elif target["kind"] == "pair":
        lam = exact(target["lambda"])
        first, second = torch.tensor(target["first"]), torch.tensor(target["second"])
        t[torch.arange(batch), first] += lam
        t[torch.arange(batch), second] += 1.0 - lam
    else:
        t = exact(target["probabilities"]).reshape(batch, classes)
    return t


# ---- reference losses (per sample, float64, differentiable in z) ---------------------------

def masked(c, x):
    """c * x with 0 where c == 0, so zero target mass on an infinite term is 0."""
    return torch.where(c != 0, c * x, torch.zeros_like(x))


def cross_entropy_rows(z, c):
    return -masked(c, torch.log_softmax(z, dim=1)).sum(1)


def focal_rows(z, c, gamma):
    logp = torch.log_softmax(z, dim=1)
    p = torch.exp(logp)
    q = -torch.expm1(logp)
    if gamma == 0:
        modulation = torch.ones_like(q)
    else:
        safe_q = torch.where(q > 0, q, torch.ones_like(q))
        modulation = torch.where(q > 0, torch.exp(gamma * torch.log(safe_q)), torch.zeros_like(q))
    del p
    return masked(c, -modulation * logp).sum(1)


def per_class_terms_rows(z, c, adjusted_for):
    """sum_k c_k (lse(a^(k)) - a^(k)_k), a^(k) = adjusted_for(k): one hard term per class."""
    rows = torch.zeros(z.shape[0])
    for k in range(z.shape[1]):
        if not bool((c[:, k] != 0).any()):
            continue
        a = adjusted_for(k)
        term = torch.logsumexp(a, dim=1) - a[:, k]
        rows = rows + masked(c[:, k], term)
    return rows


def ldam_margins(counts, max_margin):
    n = torch.tensor(counts, dtype=torch.float64)
    return max_margin * (n.min() / n) ** 0.25


def mms_margins(embeddings, lam):
    e = exact(embeddings)
    e = e / e.norm(dim=1, keepdim=True)
    m = lam * (1.0 - e @ e.T)
    m.fill_diagonal_(0.0)
    return m


def reference_rows(loss, params, z, t, w):
    classes = z.shape[1]
    c = t * w[None, :]
    if loss == "cross_entropy":
        eps = params["label_smoothing"]
        return cross_entropy_rows(z, ((1 - eps) * t + eps / classes) * w[None, :])
    if loss == "balanced_softmax":
        return cross_entropy_rows(z + torch.log(torch.tensor(params["counts"], dtype=torch.float64)), c)
    if loss == "logit_adjustment":
        n = torch.tensor(params["counts"], dtype=torch.float64)
        return cross_entropy_rows(z + params["tau"] * torch.log(n / n.sum()), c)
    if loss == "focal":
        return focal_rows(z, c, params["gamma"])
    if loss == "ldam":
        m = ldam_margins(params["counts"], params["max_margin"])
        s = params["s"]
        eye = torch.eye(classes)
        return per_class_terms_rows(z, c, lambda k: s * (z - m[k] * eye[k]))
    if loss == "mms":
        margins = mms_margins(params["embeddings"], params["lambda"])
        return per_class_terms_rows(z, c, lambda k: (z + margins[k]) / params["temperature"])
    if loss == "equalization":
        n = torch.tensor(params["counts"], dtype=torch.float64)
        rare = ((n / n.sum()) < params["lambda"]).to(torch.float64)
        keep = 1.0 - params["beta"] * rare[None, :] * (1.0 - t)
        return cross_entropy_rows(z + torch.log(keep), c)
    raise ValueError(loss)


def slope_and_bias(loss, params, classes):
    """d a / d z and the largest |bias| the adjusted logits carry: the error model's A_i is
    slope * (max_j |z_ij| + bias), the largest adjusted logit of row i."""
    if loss in ("cross_entropy", "focal"):
        return 1.0, 0.0
    if loss == "balanced_softmax":
        return 1.0, max(abs(math.log(n)) for n in params["counts"])
    if loss == "logit_adjustment":
        total = sum(params["counts"])
        return 1.0, max(abs(params["tau"] * math.log(n / total)) for n in params["counts"])
    if loss == "ldam":
        return params["s"], float(ldam_margins(params["counts"], params["max_margin"]).max())
    if loss == "mms":
        return 1.0 / params["temperature"], float(mms_margins(params["embeddings"], params["lambda"]).max())
    if loss == "equalization":
        b = params["beta"]
        return 1.0, (abs(math.log1p(-b)) if b < 1 else 0.0)
    raise ValueError(loss)


def evaluate(loss, params, logits, target, class_weights, sample_weights, reduction):
    batch, classes = logits.shape
    z = torch.tensor(logits.astype(np.float64), requires_grad=True)
    t = dense_of(target, batch, classes)
    w = exact(class_weights) if class_weights is not None else torch.ones(classes)
    v = exact(sample_weights) if sample_weights is not None else torch.ones(batch)
    rows = reference_rows(loss, params, z, t, w)
    per_sample = v * rows
    if reduction in ("none", "sum"):
        value = per_sample.sum()
    elif reduction == "mean":
        value = per_sample.sum() / batch
    else:
        value = per_sample.sum() / (v * (t * w[None, :]).sum(1)).sum()
    value.backward()
    return float(value), per_sample.detach().numpy(), z.grad.numpy(), rows


# ---- checks against PyTorch's own losses ---------------------------------------------------

def check_against_torch(loss, params, logits, target, class_weights):
    batch, classes = logits.shape
    z = torch.tensor(logits.astype(np.float64))
    t = dense_of(target, batch, classes)
    w = exact(class_weights) if class_weights is not None else None
    ones = torch.ones(classes)
    mine = reference_rows(loss, params, z, t, w if w is not None else ones)
    close = lambda a, b: torch.allclose(a, b, rtol=1e-12, atol=1e-9)
    if loss == "cross_entropy":
        eps = params["label_smoothing"]
        if target["kind"] == "hard":
            y = torch.tensor(target["labels"])
            theirs = F.cross_entropy(z, y, weight=w, label_smoothing=eps, reduction="none")
            assert close(mine, theirs), (loss, mine, theirs)
            # PyTorch's weighted mean divides by sum_i w_{y_i}: our weighted_mean
            mean = F.cross_entropy(z, y, weight=w, label_smoothing=eps, reduction="mean")
            denominator = (w if w is not None else ones)[y].sum()
            assert abs(float(mine.sum() / denominator) - float(mean)) < 1e-10
        else:
            theirs = F.cross_entropy(z, t, weight=w, label_smoothing=eps, reduction="none")
            assert close(mine, theirs), (loss, mine, theirs)
    if loss == "balanced_softmax" and target["kind"] == "hard":
        y = torch.tensor(target["labels"])
        log_n = torch.log(torch.tensor(params["counts"], dtype=torch.float64))
        theirs = F.cross_entropy(z + log_n, y, weight=w, reduction="none")
        assert close(mine, theirs)
    if loss == "ldam" and target["kind"] == "hard" and w is None:
        # the reference's formulation: lower the target logit by its class margin, scale, CE
        y = torch.tensor(target["labels"])
        margins = ldam_margins(params["counts"], params["max_margin"])
        index = F.one_hot(y, classes).bool()
        batch_m = (margins[None, :] * index).sum(1, keepdim=True)
        output = torch.where(index, z - batch_m, z)
        theirs = F.cross_entropy(params["s"] * output, y, reduction="none")
        assert close(mine, theirs)
    if loss == "focal" and params["gamma"] == 0:
        assert close(mine, cross_entropy_rows(z, t * (w if w is not None else ones)[None, :]))


# ---- the cases ---------------------------------------------------------------------------

def parameter_sets(loss, classes, rng):
    counts = long_tail_counts(classes, rng)
    if loss == "cross_entropy":
        return [{"label_smoothing": 0.0}, {"label_smoothing": 0.1}]
    if loss == "balanced_softmax":
        return [{"counts": counts}]
    if loss == "logit_adjustment":
        return [{"counts": counts, "tau": 1.0}, {"counts": counts, "tau": 1.5}]
    if loss == "focal":
        return [{"gamma": 2.0}, {"gamma": 0.5}, {"gamma": 0.0}]
    if loss == "ldam":
        return [{"counts": counts, "max_margin": 0.5, "s": 30.0}, {"counts": counts, "max_margin": 0.3, "s": 10.0}]
    if loss == "mms":
        embeddings = [f32(row) for row in rng.normal(size=(classes, 4)).astype(np.float32)]
        return [{"embeddings": embeddings, "lambda": 0.3, "temperature": 0.01},
                {"embeddings": embeddings, "lambda": 0.5, "temperature": 0.1}]
    if loss == "equalization":
        return [{"counts": counts, "lambda": 0.05, "beta": 1.0}, {"counts": counts, "lambda": 0.05, "beta": 0.7}]
    raise ValueError(loss)


def build_cases(loss, rng):
    cases = []
    index = 0

    def add(name, params, logits, target, reduction, class_weights, sample_weights):
        check_against_torch(loss, params, logits, target, class_weights)
        value, per_sample, grad, _ = evaluate(loss, params, logits, target, class_weights, sample_weights, reduction)
        slope, bias = slope_and_bias(loss, params, logits.shape[1])
        cases.append({
            "name": name, "params": params, "batch": int(logits.shape[0]), "classes": int(logits.shape[1]),
            "logits": f32(logits), "target": target, "reduction": reduction,
            "class_weights": class_weights, "sample_weights": sample_weights,
            "value": value, "per_sample": [float(x) for x in per_sample], "grad": [float(x) for x in grad.ravel()],
            "slope": slope,
            "magnitude": [slope * (float(np.abs(row.astype(np.float64)).max()) + bias) for row in logits],
        })

    for batch, classes in SHAPES:
        sets = parameter_sets(loss, classes, rng)
        for kind in KINDS:
            for p, params in enumerate(sets if (batch, classes) == (5, 7) else sets[:1]):
                reduction = REDUCTIONS[index % len(REDUCTIONS)]
                class_weights = f32(rng.uniform(0.2, 2.0, size=classes)) if index % 2 == 1 else None
                sample_weights = f32(rng.uniform(0.5, 1.5, size=batch)) if index % 3 == 2 else None
                index += 1
                logits = make_logits(batch, classes, rng, extreme=False)
                target = make_target(kind, batch, classes, rng)
                add(f"{kind} B={batch} C={classes} set {p} {reduction}", params, logits, target, reduction,
                    class_weights, sample_weights)
    # extreme logits, |z| ~ 1e4
    batch, classes = 5, 7
    params = parameter_sets(loss, classes, rng)[0]
    for kind in KINDS:
        logits = make_logits(batch, classes, rng, extreme=True)
        target = make_target(kind, batch, classes, rng)
        add(f"{kind} B={batch} C={classes} extreme logits", params, logits, target, "mean", None, None)
    return cases


LOSSES = ["cross_entropy", "balanced_softmax", "logit_adjustment", "focal", "ldam", "mms", "equalization"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "losses"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for n, loss in enumerate(LOSSES):
        rng = np.random.default_rng(1000 + n)
        cases = build_cases(loss, rng)
        path = os.path.join(args.out, f"{loss}.json")
        with open(path, "w") as out:
            json.dump({"generator": "tools/loss_reference.py", "torch": torch.__version__, "loss": loss,
                       "cases": cases}, out, separators=(",", ":"))
            out.write("\n")
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.normpath(path)}: {len(cases)} cases, {size / 1024:.1f} KiB")
    print(f"total {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()

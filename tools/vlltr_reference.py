#!/usr/bin/python3
"""Golden values and gradients for tailor's VL-LTR pieces, from PyTorch autograd in float64.

Writes tests/fixtures/vlltr/<case>.json. The reference is written the way the released
VL-LTR code computes it: K = W_k LN_k(E_T) and G [B, C, D] are materialised, the padding
mask is a masked_fill(-inf) before the softmax, cosines come from F.normalize. tailor's
head never builds K or G; these fixtures pin that its algebra gives the same numbers.

    /usr/bin/python3 tools/vlltr_reference.py [--out tests/fixtures/vlltr]
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def f32(t):
    """Round to float32 and back, so the C++ float and double runs see the same inputs."""
    return t.float().double()


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


# ---------------------------------------------------------------- LGR head (reference form)
def lgr_reference(images, sentences, counts, p, ln_eps=1e-5, norm_eps=1e-12):
    batch, dim = images.shape
    classes, slots, _ = sentences.shape
    mask = torch.arange(slots)[None, :] < counts[:, None]  # [C, M]
    q = F.layer_norm(images, (dim,), p["query_norm_weight"], p["query_norm_bias"], ln_eps) @ p["query_weight"].T
    k = F.layer_norm(sentences, (dim,), p["key_norm_weight"], p["key_norm_bias"], ln_eps) @ p["key_weight"].T
    scores = torch.einsum("bd,cmd->bcm", q, k) / math.sqrt(dim)
    scores = scores.masked_fill(~mask[None], float("-inf"))
    attention = scores.softmax(dim=-1)
    values = sentences * mask[..., None]  # padding rows never reach G
    g = torch.einsum("bcm,cmd->bcd", attention, values)
    cos = (F.normalize(images, dim=-1, eps=norm_eps)[:, None, :] * F.normalize(g, dim=-1, eps=norm_eps)).sum(-1)
    text_logits = p["logit_scale"].exp() * cos
    hidden = torch.relu(images @ p["hidden_weight"].T + p["hidden_bias"])
    image_logits = hidden @ p["output_weight"].T + p["output_bias"]
    return image_logits, text_logits


PARAM_NAMES = ["query_weight", "key_weight", "query_norm_weight", "query_norm_bias", "key_norm_weight",
               "key_norm_bias", "hidden_weight", "hidden_bias", "output_weight", "output_bias", "logit_scale"]


def lgr_case(name, batch, classes, slots, dim, hidden, counts, seed, label_smoothing=0.0):
    g = torch.Generator().manual_seed(seed)
    rn = lambda *s: torch.randn(*s, generator=g)
    images = f32(rn(batch, dim))
    sentences = f32(rn(classes, slots, dim) * 0.8 + 0.1)  # padding rows hold values too: must be ignored
    counts = torch.tensor(counts)
    p = {
        "query_weight": f32(torch.eye(dim) + 0.3 * rn(dim, dim)),
        "key_weight": f32(torch.eye(dim) + 0.3 * rn(dim, dim)),
        "query_norm_weight": f32(1 + 0.2 * rn(dim)),
        "query_norm_bias": f32(0.1 * rn(dim)),
        "key_norm_weight": f32(1 + 0.2 * rn(dim)),
        "key_norm_bias": f32(0.1 * rn(dim)),
        "hidden_weight": f32(rn(hidden, dim) / math.sqrt(dim)),
        "hidden_bias": f32(0.1 * rn(hidden)),
        "output_weight": f32(rn(classes, hidden) / math.sqrt(hidden)),
        "output_bias": f32(0.1 * rn(classes)),
        "logit_scale": f32(torch.tensor(math.log(20.0))),
    }
    labels = torch.randint(0, classes, (batch,), generator=g)
    for t in p.values():
        t.requires_grad_(True)
    images.requires_grad_(True)
    image_logits, text_logits = lgr_reference(images, sentences, counts, p)
    image_loss = F.cross_entropy(image_logits, labels, label_smoothing=label_smoothing)
    text_loss = F.cross_entropy(text_logits, labels, label_smoothing=label_smoothing)
    total = image_loss + text_loss
    total.backward()
    alpha = 0.2
    fused = alpha * image_logits.softmax(-1) + (1 - alpha) * text_logits.softmax(-1)
    case = {
        "batch": batch, "classes": classes, "slots": slots, "dim": dim, "hidden": hidden,
        "counts": counts.tolist(), "labels": labels.tolist(), "label_smoothing": label_smoothing,
        "images": flat(images), "sentences": flat(sentences),
        "params": {k: flat(v) for k, v in p.items()},
        "image_logits": flat(image_logits), "text_logits": flat(text_logits),
        "image_loss": float(image_loss), "text_loss": float(text_loss),
        "alpha": alpha, "fused_probabilities": flat(fused),
        "grads": {k: flat(v.grad) for k, v in p.items()},
        "d_images": flat(images.grad),
    }
    return name, case


# ---------------------------------------------------------------- CVLP losses
def soft_ce_rows(logits, targets):
    return -(targets * logits.log_softmax(dim=-1)).sum(-1).mean()


def cvlp_reference(images, texts, image_labels, text_labels, image_slice, text_slice, logit_scale,
                   teacher, weight, label_smoothing):
    """L_pre = weight * L_ccl + (1 - weight) * L_dis for one rank: its images against every
    text and its texts against every image; the gathered matrices are images and texts."""
    s = logit_scale.exp()
    xi = F.normalize(images, dim=-1)
    xt = F.normalize(texts, dim=-1)
    i0, i1 = image_slice
    t0, t1 = text_slice
    logits_it = s * xi[i0:i1] @ xt.T
    logits_ti = s * xt[t0:t1] @ xi.T
    pos_it = (image_labels[i0:i1, None] == text_labels[None, :]).double()
    pos_ti = (text_labels[t0:t1, None] == image_labels[None, :]).double()
    tgt_it = pos_it / pos_it.sum(-1, keepdim=True)
    tgt_ti = pos_ti / pos_ti.sum(-1, keepdim=True)
    if label_smoothing > 0:
        tgt_it = (1 - label_smoothing) * tgt_it + label_smoothing / tgt_it.shape[1]
        tgt_ti = (1 - label_smoothing) * tgt_ti + label_smoothing / tgt_ti.shape[1]
    ccl = (soft_ce_rows(logits_it, tgt_it) + soft_ce_rows(logits_ti, tgt_ti)) / 2
    if teacher is None:
        return ccl, ccl, torch.tensor(0.0)
    dis = (soft_ce_rows(logits_it, teacher[i0:i1].softmax(-1)) +
           soft_ce_rows(logits_ti, teacher[:, t0:t1].T.softmax(-1))) / 2
    return weight * ccl + (1 - weight) * dis, ccl, dis


def cvlp_case(name, n_images, n_texts, dim, classes, image_slice, text_slice, seed, weight, label_smoothing,
              with_teacher):
    g = torch.Generator().manual_seed(seed)
    images = f32(torch.randn(n_images, dim, generator=g)).requires_grad_(True)
    texts = f32(torch.randn(n_texts, dim, generator=g)).requires_grad_(True)
    image_labels = torch.randint(0, classes, (n_images,), generator=g)
    text_labels = torch.cat([image_labels, image_labels[torch.randint(0, n_images, (n_texts - n_images,), generator=g)]]) \
        if n_texts >= n_images else image_labels[:n_texts].clone()
    # Every row needs a positive: texts cover the images' classes and vice versa.
    logit_scale = f32(torch.tensor(math.log(1 / 0.07))).requires_grad_(True)
    teacher = f32(torch.randn(n_images, n_texts, generator=g) * 3) if with_teacher else None
    total, ccl, dis = cvlp_reference(images, texts, image_labels, text_labels, image_slice, text_slice, logit_scale,
                                     teacher, weight, label_smoothing)
    total.backward()
    case = {
        "n_images": n_images, "n_texts": n_texts, "dim": dim,
        "image_labels": image_labels.tolist(), "text_labels": text_labels.tolist(),
        "image_slice": list(image_slice), "text_slice": list(text_slice),
        "weight": weight, "label_smoothing": label_smoothing,
        "logit_scale": float(logit_scale), "images": flat(images), "texts": flat(texts),
        "teacher": flat(teacher) if teacher is not None else [],
        "value": float(total), "ccl": float(ccl), "dis": float(dis),
        "d_images": flat(images.grad), "d_texts": flat(texts.grad), "d_logit_scale": float(logit_scale.grad),
    }
    return name, case


# ---------------------------------------------------------------- AnSS
def anss_reference(sentences, offsets, images, image_labels, scale, keep):
    sn = F.normalize(sentences, dim=-1)
    im = F.normalize(images, dim=-1)
    logits = scale * sn @ im.T
    scores = []
    for c in range(len(offsets) - 1):
        target = (image_labels == c).double()
        target = target / target.sum()
        for s in range(offsets[c], offsets[c + 1]):
            scores.append(float(-(target * logits[s].log_softmax(-1)).sum()))
    scores = torch.tensor(scores)
    kept = []
    for c in range(len(offsets) - 1):
        local = scores[offsets[c]:offsets[c + 1]]
        order = sorted(range(len(local)), key=lambda i: (float(local[i]), i))[:keep]
        kept.append([offsets[c] + i for i in order])
    return scores, kept


def anss_case(name, counts, n_images_per_class, dim, scale, keep, seed):
    g = torch.Generator().manual_seed(seed)
    classes = len(counts)
    offsets = [0]
    for n in counts:
        offsets.append(offsets[-1] + n)
    sentences = f32(torch.randn(offsets[-1], dim, generator=g))
    image_labels = torch.tensor([c for c in range(classes) for _ in range(n_images_per_class[c])])
    images = f32(torch.randn(len(image_labels), dim, generator=g))
    scores, kept = anss_reference(sentences, offsets, images, image_labels, scale, keep)
    case = {
        "dim": dim, "offsets": offsets, "image_labels": image_labels.tolist(), "scale": scale, "keep": keep,
        "sentences": flat(sentences), "images": flat(images), "scores": flat(scores), "kept": kept,
    }
    return name, case


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vlltr"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [
        lgr_case("lgr_ragged", batch=3, classes=4, slots=5, dim=8, hidden=32, counts=[5, 2, 3, 1], seed=1),
        lgr_case("lgr_full", batch=5, classes=6, slots=4, dim=12, hidden=20, counts=[4] * 6, seed=2,
                 label_smoothing=0.1),
        cvlp_case("cvlp_single", 6, 6, 8, 3, (0, 6), (0, 6), seed=3, weight=1.0, label_smoothing=0.0,
                  with_teacher=False),
        cvlp_case("cvlp_distill", 6, 9, 8, 3, (0, 6), (0, 9), seed=4, weight=0.5, label_smoothing=0.1,
                  with_teacher=True),
        cvlp_case("cvlp_rank_slice", 8, 8, 6, 2, (4, 8), (2, 6), seed=5, weight=0.5, label_smoothing=0.1,
                  with_teacher=True),
        anss_case("anss_small", counts=[5, 2, 7], n_images_per_class=[3, 4, 2], dim=8, scale=50.0, keep=4, seed=6),
    ]
    for name, case in cases:
        path = os.path.join(args.out, name + ".json")
        with open(path, "w") as f:
            json.dump(case, f)
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()

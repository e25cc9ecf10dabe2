"""Times PyTorch's CLIP encoders (open_clip, eager) as the peer of bench/bench_clip.cpp.

Random-weight open_clip models, nothing downloaded: 'ViT-B-32-quickgelu' and
'ViT-B-16-quickgelu' (OpenAI CLIP's architecture), under torch.no_grad() in eval mode,
with --threads intra-op threads (2 unless told). The cases are tailor's:

    clip_image/ViT-B-32/batch:1    clip_image/ViT-B-32/batch:8     224 px images
    clip_image/ViT-B-16/batch:1    clip_image/ViT-B-16/batch:8
    clip_text/batch:8/tokens:77                                    ViT-B/32's text tower

Each case is warmed up, then timed call by call until there are --repeats calls and
--min-seconds of them; the median is reported, with items/s, GFLOP/s from an analytic
count (flops_image, flops_text: 2 x multiply-adds of the matrix products) and the
fraction of a float32 GEMM peak, torch.mm on 2048 x 2048 x 2048, measured in the same
run. With the JSON of a tailor run it prints tailor's figures and the ratio PyTorch
time / tailor time per case:

    OMP_NUM_THREADS=2 build/release/bench/tailor_bench_clip --benchmark_format=json > clip.json
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python tools/clip_peer.py clip.json

Run the peer with the same thread count as tailor, and without the OpenBLAS settings
tailor's run may export (hence env -u). Before it loads torch the peer gives OpenBLAS the
same thread count (OPENBLAS_NUM_THREADS: torch.set_num_threads does not reach Debian's
OpenBLAS) and, unless the environment says otherwise, sets OMP_WAIT_POLICY=passive:
Debian's torch runs its OpenMP pool next to OpenBLAS's own pthreads, and with the default
(spinning) policy the two pools fight over the cores -- on a 2-vCPU VM that made the
encoders 2 to 5 times slower, more while other jobs ran. On a shared machine give
tailor's run OMP_WAIT_POLICY=passive as well (docs/losses.md); the header line says
which policy the peer ran with.
"""
import argparse
import json
import os
import statistics
import time

torch = open_clip = None   # imported by main(), after the thread settings are in the environment

IMAGE_SIZE = 224
CONTEXT = 77
SOT, EOT = 49406, 49407

CASES = [
    # (tailor's name, kind, open_clip model, batch)
    ("clip_image/ViT-B-32/batch:1", "image", "ViT-B-32-quickgelu", 1),
    ("clip_image/ViT-B-32/batch:8", "image", "ViT-B-32-quickgelu", 8),
    ("clip_image/ViT-B-16/batch:1", "image", "ViT-B-16-quickgelu", 1),
    ("clip_image/ViT-B-16/batch:8", "image", "ViT-B-16-quickgelu", 8),
    ("clip_text/batch:8/tokens:77", "text", "ViT-B-32-quickgelu", 8),
]


# ---- analytic FLOP counts ---------------------------------------------------------------

def encoder_macs(tokens, width, layers, mlp_ratio=4.0):
    """Multiply-adds of `layers` pre-LN transformer blocks over `tokens` tokens."""
    hidden = int(width * mlp_ratio)
    projections = 4 * tokens * width * width          # Q, K, V and the output projection
    attention = 2 * tokens * tokens * width           # Q K^T and (softmax) V, all heads
    mlp = 2 * tokens * width * hidden                 # fc1 and fc2
    return layers * (projections + attention + mlp)   # LayerNorm, softmax, GELU: negligible


def flops_image(cfg, embed_dim):
    """FLOPs (2 x MACs) of one image through open_clip's vision tower `cfg`."""
    size, patch, width = cfg["image_size"], cfg["patch_size"], cfg["width"]
    patches = (size // patch) ** 2
    macs = patches * (3 * patch * patch) * width       # patch-embedding convolution
    macs += encoder_macs(patches + 1, width, cfg["layers"], cfg.get("mlp_ratio", 4.0))
    macs += width * embed_dim                          # projection of the class token
    return 2 * macs


def flops_text(cfg, embed_dim, tokens):
    """FLOPs of one text of `tokens` tokens (all of them computed, as eager PyTorch does)."""
    width = cfg["width"]
    macs = encoder_macs(tokens, width, cfg["layers"], cfg.get("mlp_ratio", 4.0))
    macs += width * embed_dim                          # projection at the EOT
    return 2 * macs


def case_flops(kind, model_name, batch):
    cfg = open_clip.get_model_config(model_name)
    if kind == "image":
        return batch * flops_image(cfg["vision_cfg"], cfg["embed_dim"])
    return batch * flops_text(cfg["text_cfg"], cfg["embed_dim"], CONTEXT)


def check_counts():
    b32 = case_flops("image", "ViT-B-32-quickgelu", 1) / 1e9
    b16 = case_flops("image", "ViT-B-16-quickgelu", 1) / 1e9
    assert abs(b32 / 8.8 - 1) < 0.03, b32   # the published 4.4 GMAC per ViT-B/32 image
    assert abs(b16 / 35.0 - 1) < 0.03, b16  # and 17.5 GMAC per ViT-B/16 image
    return b32, b16


# ---- timing -----------------------------------------------------------------------------

def time_call(f, min_seconds, repeats, warmup):
    """Median seconds per call of f(), after warmup calls."""
    for _ in range(warmup):
        f()
    samples = []
    while len(samples) < repeats or sum(samples) < min_seconds:
        start = time.perf_counter()
        f()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def sgemm_peak(min_seconds, repeats, n=2048):
    g = torch.Generator().manual_seed(7)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    seconds = time_call(lambda: torch.mm(a, b, out=c), min_seconds, max(repeats, 10), warmup=3)
    return 2 * n ** 3 / seconds / 1e9


def inputs(kind, batch, seed=2024):
    g = torch.Generator().manual_seed(seed)
    if kind == "image":
        return torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g)
    ids = torch.zeros(batch, CONTEXT, dtype=torch.int64)
    for row in range(batch):
        n = int(torch.randint(2, CONTEXT + 1, (1,), generator=g))
        ids[row, 0] = SOT
        ids[row, 1:n - 1] = torch.randint(1, SOT, (n - 2,), generator=g)
        ids[row, n - 1] = EOT
    return ids


# ---- tailor's figures -------------------------------------------------------------------

def tailor_times(path):
    """{case name: seconds per batch} from a --benchmark_format=json file (real_time)."""
    with open(path) as f:
        data = json.load(f)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    medians, samples = {}, {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        case = next((c[0] for c in CASES if name == c[0] or name.startswith(c[0] + "/")), None)
        if case is None or "real_time" not in b:
            continue
        seconds = b["real_time"] * scale[b.get("time_unit", "ns")]
        if b.get("run_type", "iteration") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[case] = seconds
        else:
            samples.setdefault(case, []).append(seconds)
    out = {case: statistics.median(v) for case, v in samples.items()}
    out.update(medians)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tailor_json", nargs="?", help="output of tailor_bench_clip --benchmark_format=json")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-seconds", type=float, default=3.0, help="timing per case")
    parser.add_argument("--repeats", type=int, default=5, help="at least this many timed calls per case")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    if load > 1.0:
        print(f"warning: 1-minute load average {load:.2f} before the run; the timings may be disturbed")
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    global torch, open_clip
    import torch
    import open_clip
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b32, b16 = check_counts()
    ours = tailor_times(args.tailor_json) if args.tailor_json else {}

    peak = sgemm_peak(args.min_seconds / 3, args.repeats)
    print(f"PyTorch {torch.__version__} eager, no_grad, {torch.get_num_threads()} threads, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; "
          f"SGEMM 2048^3 peak {peak:.1f} GFLOP/s; {b32:.2f} / {b16:.2f} GFLOP per ViT-B/32 / ViT-B/16 image")
    header = f"{'case':30} {'GFLOP':>7} {'torch s':>9} {'items/s':>8} {'GFLOP/s':>8} {'peak':>5}"
    if ours:
        header += f" {'tailor s':>9} {'items/s':>8} {'GFLOP/s':>8} {'peak':>5} {'ratio':>6}"
    print(header)

    models = {}
    for name, kind, model_name, batch in CASES:
        if model_name not in models:
            models[model_name] = open_clip.create_model(model_name, pretrained=None).eval()
        model = models[model_name]
        x = inputs(kind, batch)
        encode = model.encode_image if kind == "image" else model.encode_text

        def call():
            with torch.no_grad():
                encode(x)

        flops = case_flops(kind, model_name, batch)
        seconds = time_call(call, args.min_seconds, args.repeats, warmup=2)
        rate = flops / seconds / 1e9
        line = (f"{name:30} {flops / 1e9:7.1f} {seconds:9.4f} {batch / seconds:8.2f} "
                f"{rate:8.1f} {rate / peak:5.2f}")
        if ours:
            t = ours.get(name)
            if t:
                ours_rate = flops / t / 1e9
                line += (f" {t:9.4f} {batch / t:8.2f} {ours_rate:8.1f} {ours_rate / peak:5.2f}"
                         f" {seconds / t:6.2f}")
            else:
                line += f" {'-':>9} {'-':>8} {'-':>8} {'-':>5} {'-':>6}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

"""Reference CLIP weights, inputs and outputs for tailor's C++ CLIP encoders.

Run after tools/make_venv.sh (it needs transformers, open_clip and safetensors from the venv):

    .venv/bin/python tools/clip_reference.py [--out tests/fixtures/clip]
    .venv/bin/python tools/clip_reference.py --full DIR      # full-size models, not committed

Nothing is downloaded: every model is built from its configuration and then given new
random parameters from a seeded generator (see rerandomise()), so that no LayerNorm
weight is 1 and no bias 0: a weight mapped to the wrong place, a missing LayerNorm affine
term or bias, or a transposed projection changes the outputs.

Writes to --out (float32 weights, saved with safetensors.torch.save_file, metadata
{"format": "pt"}; state_dict() keys, so non-persistent buffers -- Hugging Face's
position_ids, open_clip's attn_mask -- are not in the files):

  tiny_hf.safetensors        transformers.CLIPModel from a CLIPConfig: vision 64 wide,
                             2 layers, 4 heads, MLP 256, 32 px, patch 8 (17 tokens); text
                             vocab 99, 48 wide, 2 layers, 4 heads, MLP 192, context 16,
                             BOS 97, EOS 98, pad 0; quick_gelu; projection 40.
  tiny_openai.safetensors    open_clip.model.CLIP with OpenAI's naming: vision 64 wide,
                             2 layers, head width 16, 48 px, patch 16 (10 tokens); text
                             vocab 99, 48 wide, 4 heads, 2 layers, context 16; exact-erf
                             GELU (quick_gelu=False); embed_dim 40.
  tiny_hf_io.safetensors, tiny_openai_io.safetensors
                             pixel_values [4,3,R,R] f32 and input_ids [4,16] i64 (SOT 97,
                             ids in [1,97), EOT 98, zeros; lengths 2, 5, 11, 16), and the
                             outputs of a float64 copy of the model (same float32 weights,
                             computed in float64, stored as float32):
                               image_embeds [4,40], text_embeds [4,40]   projected, not normalised
                               vision_pooled [4,64]   class token after the post LayerNorm
                               text_pooled [4,48]     EOT position after the final LayerNorm
                               vision_tokens [4,T,64] last block's output, before the post LN
                               logits_per_image [4,4] exp(logit_scale) * cos(image, text)
                             plus float32_image_embeds and float32_text_embeds from the
                             float32 model in eval mode, to show PyTorch's own fp32 error.

The script checks that the stored pooled values, projected, are what the libraries' own
get_image_features/get_text_features (transformers) and encode_image/encode_text
(open_clip, normalize=False) return.

--full DIR writes vit_b32_openai.safetensors (open_clip 'ViT-B-32-quickgelu') and
vit_b16_hf.safetensors (transformers CLIPModel with OpenAI's ViT-B/16 configuration),
both re-randomised the same way, with *_io.safetensors for 2 images of 224 px and 3 texts
of 77 tokens (SOT 49406, EOT 49407): the same keys, float64 outputs and float32 ones.
"""
import argparse
import copy
import math
import os
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import open_clip
from transformers import CLIPConfig, CLIPModel

BATCH = 4
LOGIT_SCALE = math.log(1 / 0.07)


# ---- parameters -------------------------------------------------------------------------

def rerandomise(model, seed):
    """Replaces every parameter of model with seeded random values of a sane scale."""
    g = torch.Generator().manual_seed(seed)
    done = set()

    def fill(p, make):
        with torch.no_grad():
            p.copy_(make(p.shape).to(p.dtype))
        done.add(id(p))

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    for name, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in done:
                continue
            if isinstance(module, torch.nn.LayerNorm):
                if pname == "weight":
                    fill(p, lambda s: 1 + 0.1 * randn(s))
                else:
                    fill(p, lambda s: 0.1 * randn(s))
            elif isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                if pname == "weight":
                    fan_in = p[0].numel()
                    fill(p, lambda s: randn(s) / math.sqrt(fan_in))
                else:
                    fill(p, lambda s: 0.05 * randn(s))
            elif isinstance(module, torch.nn.Embedding):
                fill(p, lambda s: 0.5 * randn(s))
            elif isinstance(module, torch.nn.MultiheadAttention) and pname == "in_proj_weight":
                fill(p, lambda s: randn(s) / math.sqrt(s[1]))
            elif isinstance(module, torch.nn.MultiheadAttention) and pname == "in_proj_bias":
                fill(p, lambda s: 0.05 * randn(s))
            elif pname in ("class_embedding", "positional_embedding"):
                fill(p, lambda s: 0.5 * randn(s))
            elif pname in ("proj", "text_projection"):          # open_clip: [width, embed]
                fill(p, lambda s: randn(s) / math.sqrt(s[0]))
            elif pname == "logit_scale":
                fill(p, lambda s: torch.full(s, LOGIT_SCALE, dtype=torch.float64))
            else:
                raise ValueError(f"no rule for parameter {name}.{pname} {tuple(p.shape)}")
    missing = [n for n, p in model.named_parameters() if id(p) not in done]
    assert not missing, missing
    return model


def state_dict(model):
    sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items()
          if "position_ids" not in k and "attn_mask" not in k}
    params = {n for n, _ in model.named_parameters()}
    assert set(sd) == params, set(sd) ^ params   # parameters only, no buffers
    return sd


# ---- inputs -----------------------------------------------------------------------------

def make_ids(lengths, ctx, sot, eot, seed):
    """SOT, random ids in [1, sot), EOT, then zeros; one row per length (length counts SOT/EOT)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), ctx, dtype=torch.int64)
    for row, n in enumerate(lengths):
        assert 2 <= n <= ctx
        ids[row, 0] = sot
        ids[row, 1:n - 1] = torch.randint(1, sot, (n - 2,), generator=g)
        ids[row, n - 1] = eot
    return ids


def make_pixels(batch, size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, size, size, generator=g, dtype=torch.float32)


# ---- forward passes ---------------------------------------------------------------------

def logits(image_embeds, text_embeds, logit_scale):
    return logit_scale.exp() * F.normalize(image_embeds, dim=-1) @ F.normalize(text_embeds, dim=-1).t()


def close(a, b, dtype):
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    err = (a - b).abs().max().item()
    assert err <= tol * max(1.0, b.abs().max().item()), err


@torch.no_grad()
def run_hf(model, pixels, ids):
    dtype = next(model.parameters()).dtype
    pixels = pixels.to(dtype)
    vision = model.vision_model(pixel_values=pixels)
    text = model.text_model(input_ids=ids)
    out = {
        "vision_tokens": vision.last_hidden_state,       # encoder output, before post_layernorm
        "vision_pooled": vision.pooler_output,           # post_layernorm(class token)
        "text_pooled": text.pooler_output,               # final_layer_norm output at the EOS
        "image_embeds": model.visual_projection(vision.pooler_output),
        "text_embeds": model.text_projection(text.pooler_output),
    }
    out["logits_per_image"] = logits(out["image_embeds"], out["text_embeds"], model.logit_scale)
    # the intermediates agree with the library's own entry points
    close(out["image_embeds"], model.get_image_features(pixel_values=pixels), dtype)
    close(out["text_embeds"], model.get_text_features(input_ids=ids), dtype)
    close(out["logits_per_image"], model(input_ids=ids, pixel_values=pixels).logits_per_image, dtype)
    eos = ids.argmax(dim=-1)
    close(out["text_pooled"], text.last_hidden_state[torch.arange(ids.shape[0]), eos], dtype)
    close(model.vision_model.post_layernorm(out["vision_tokens"][:, 0]), out["vision_pooled"], dtype)
    return out


@torch.no_grad()
def run_openai(model, pixels, ids):
    dtype = next(model.parameters()).dtype
    pixels = pixels.to(dtype)
    seen = {}
    hooks = [
        model.visual.transformer.register_forward_hook(lambda m, i, o: seen.__setitem__("vt", o)),
        model.visual.ln_post.register_forward_hook(lambda m, i, o: seen.__setitem__("vln", o)),
        model.ln_final.register_forward_hook(lambda m, i, o: seen.__setitem__("tln", o)),
    ]
    try:
        image_embeds = model.encode_image(pixels, normalize=False)
        text_embeds = model.encode_text(ids, normalize=False)
    finally:
        for h in hooks:
            h.remove()
    rows = torch.arange(ids.shape[0])
    out = {
        "vision_tokens": seen["vt"].permute(1, 0, 2),     # the transformer runs sequence-first
        "vision_pooled": seen["vln"][:, 0],
        "text_pooled": seen["tln"][rows, ids.argmax(dim=-1)],
        "image_embeds": image_embeds,
        "text_embeds": text_embeds,
    }
    out["logits_per_image"] = logits(image_embeds, text_embeds, model.logit_scale)
    close(out["vision_pooled"] @ model.visual.proj, image_embeds, dtype)
    close(out["text_pooled"] @ model.text_projection, text_embeds, dtype)
    close(model.visual.ln_post(out["vision_tokens"][:, 0]), out["vision_pooled"], dtype)
    image_n, text_n, scale = model(pixels, ids)[:3]
    close(scale * image_n @ text_n.t(), out["logits_per_image"], dtype)
    return out


# ---- fixtures ---------------------------------------------------------------------------

def check_sane(name, out):
    for k, v in out.items():
        assert torch.isfinite(v).all(), (name, k)
    spread = {k: f"{v.abs().max().item():.3g}" for k, v in out.items()}
    print(f"  {name} max |value|: {spread}")


def write(path, tensors):
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata={"format": "pt"})
    back = load_file(path)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)
    size = os.path.getsize(path)
    print(f"{path}: {len(tensors)} tensors, {size} bytes")
    return size


def fixture(name, build, seed, run, pixels, ids, out_dir, skip_float64=False):
    """Writes <name>.safetensors and <name>_io.safetensors; returns the bytes written."""
    model = rerandomise(build(), seed).eval()
    weights = state_dict(model)
    t0 = time.perf_counter()
    out32 = run(model, pixels, ids)
    t1 = time.perf_counter()
    print(f"  {name}: float32 forward {t1 - t0:.1f} s")
    if skip_float64:
        out64 = out32
    else:
        model64 = copy.deepcopy(model).double().eval()
        # transformers 4.38 builds its causal mask with torch.full(..., finfo(float64).min)
        # in the default dtype, which overflows float32: run with a float64 default.
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            out64 = run(model64, pixels, ids)
        finally:
            torch.set_default_dtype(previous)
        print(f"  {name}: float64 forward {time.perf_counter() - t1:.1f} s")
        del model64
    check_sane(name, out64)
    io = {"pixel_values": pixels, "input_ids": ids}
    io.update({k: v.to(torch.float32) for k, v in out64.items()})
    io["float32_image_embeds"] = out32["image_embeds"].to(torch.float32)
    io["float32_text_embeds"] = out32["text_embeds"].to(torch.float32)
    for key in ("image_embeds", "text_embeds"):
        diff = (out32[key].double() - out64[key]).abs().max().item()
        scale = out64[key].abs().max().item()
        print(f"  {name}: fp32 vs fp64 {key}: max abs diff {diff:.3g} (max |value| {scale:.3g}, "
              f"relative {diff / scale:.3g})")
    size = write(os.path.join(out_dir, f"{name}.safetensors"), weights)
    size += write(os.path.join(out_dir, f"{name}_io.safetensors"), io)
    # the weights file alone reproduces the outputs: a fresh model loads it strictly
    del model
    fresh = build().eval()
    fresh.load_state_dict(load_file(os.path.join(out_dir, f"{name}.safetensors")), strict=True)
    again = run(fresh, pixels, ids)
    for key in ("image_embeds", "text_embeds"):
        assert torch.equal(again[key], out32[key]), key
    for k, v in io.items():
        print(f"    {k:22} {str(v.dtype):14} {list(v.shape)}")
    return size


def tiny_hf():
    config = CLIPConfig(
        vision_config=dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                           num_attention_heads=4, image_size=32, patch_size=8, num_channels=3,
                           hidden_act="quick_gelu"),
        text_config=dict(vocab_size=99, hidden_size=48, intermediate_size=192, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, hidden_act="quick_gelu",
                         bos_token_id=97, eos_token_id=98, pad_token_id=0),
        projection_dim=40)
    return CLIPModel(config)


def tiny_openai():
    vision = open_clip.model.CLIPVisionCfg(image_size=48, patch_size=16, width=64, layers=2, head_width=16)
    text = open_clip.model.CLIPTextCfg(context_length=16, vocab_size=99, width=48, heads=4, layers=2)
    return open_clip.model.CLIP(embed_dim=40, vision_cfg=vision, text_cfg=text, quick_gelu=False)


def vit_b32_openai():
    return open_clip.create_model("ViT-B-32-quickgelu", pretrained=None)


def vit_b16_hf():
    config = CLIPConfig(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=224, patch_size=16, hidden_act="quick_gelu"),
        text_config=dict(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, max_position_embeddings=77, hidden_act="quick_gelu",
                         bos_token_id=49406, eos_token_id=49407),
        projection_dim=512)
    return CLIPModel(config)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.relpath(os.path.join(here, "..", "tests", "fixtures", "clip")))
    parser.add_argument("--full", metavar="DIR",
                        help="write full-size ViT-B/32 and ViT-B/16 models to DIR instead")
    parser.add_argument("--no-float64", action="store_true",
                        help="--full only: store float32 outputs as the reference")
    args = parser.parse_args()
    torch.manual_seed(0)   # construction draws from the global generator; rerandomise() replaces all of it

    if args.full:
        os.makedirs(args.full, exist_ok=True)
        start = time.perf_counter()
        pixels = make_pixels(2, 224, seed=31)
        ids = make_ids([2, 20, 77], 77, 49406, 49407, seed=32)
        fixture("vit_b32_openai", vit_b32_openai, 33, run_openai, pixels, ids, args.full, args.no_float64)
        fixture("vit_b16_hf", vit_b16_hf, 34, run_hf, pixels, ids, args.full, args.no_float64)
        print(f"full-size fixtures written in {time.perf_counter() - start:.1f} s")
        return

    os.makedirs(args.out, exist_ok=True)
    total = 0
    ids = make_ids([2, 16, 5, 11], 16, 97, 98, seed=11)
    total += fixture("tiny_hf", tiny_hf, 12, run_hf, make_pixels(BATCH, 32, seed=13), ids, args.out)
    total += fixture("tiny_openai", tiny_openai, 22, run_openai, make_pixels(BATCH, 48, seed=23), ids, args.out)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Golden images and tensors for tests/test_image.cpp, from PIL and torchvision.

    /usr/bin/python3 tools/image_reference.py [--out tests/fixtures/image] [--corpus fuzz/corpus/image]

Needs Debian's python3-pil (9.4) and python3-torchvision (0.14). Writes to the output folder:

  inputs        small seeded images in several PNG modes (RGB, L, LA, RGBA, P with a
                transparent entry), two JPEGs (colour 4:2:0 and gray), a BMP; odd and
                non-square sizes, landscape and portrait, one smaller than the resolution
                (it upscales), one several times larger (the antialiased downscale)
  decoded/      Image.open(input).convert("RGB") as PNG: PIL's decode and RGB conversion
  resized/      PIL Image.resize of decoded images (or of the L image, 1 channel), for
                BICUBIC at several sizes (single-axis and identity included), BILINEAR, LANCZOS
  crops/        the uint8 image torchvision's CLIP transform normalises: Resize(R, BICUBIC)
                then CenterCrop(R), as PNG, for every input but two and R = 24 (32 where it
                changes the crop rounding or the upscale)
  tensors/      the transform's output itself for two of those, float32 [3, R, R] raw
                little-endian: ... ToTensor(), Normalize(CLIP mean, CLIP std)
  manifest.txt  one line per check (see its header)

and a seed corpus of tiny images in every format PIL writes and stb reads to fuzz/corpus/image
(--corpus to move it).

RGB conversion comes first, as a dataset loader does it (torchvision's pil_loader, open_clip's
datasets). OpenAI's clip.load preprocess converts after the crop instead; for P images PIL
then resizes with NEAREST and RGBA images are resized premultiplied. The script prints how far
that order lands from the loader order on the P and RGBA inputs; tailor follows the loader.
For every crop the script checks that torchvision's tensor is (crop / 255 - mean) / std in
float32 exactly, so a crop fixes the tensor bit for bit; raw tensors are kept for two cases
only, to hold the fixtures to tens of KiB.
"""
import argparse
import os

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS}


def pattern(rng, h, w, channels, noise=8.0, edges=True, frequency=0.5):
    """Smooth waves plus noise, with a hard black/white block so bicubic overshoot clamps."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, channels))
    for c in range(channels):
        fx, fy = rng.uniform(0.1, 1.0, 2) * frequency
        phase = rng.uniform(0, 2 * np.pi)
        out[..., c] = 128 + 90 * np.sin(fx * x + fy * y + phase) + rng.normal(0, noise, (h, w))
    if edges:
        top, left = rng.integers(0, h // 2), rng.integers(0, w // 2)
        out[top:top + h // 3, left:left + w // 3] = 255
        out[top + h // 6:top + h // 3, left:left + w // 6] = 0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_inputs(rng, out):
    """name -> file name; sizes are (width, height)."""
    files = {}

    def save(name, image, **kwargs):
        image.save(os.path.join(out, name), **kwargs)
        files[name.rsplit(".", 1)[0]] = name

    save("rgb_portrait.png", Image.fromarray(pattern(rng, 46, 31, 3), "RGB"))
    save("gray_landscape.png", Image.fromarray(pattern(rng, 29, 38, 1)[..., 0], "L"))
    rgba = np.concatenate([pattern(rng, 52, 40, 3), pattern(rng, 52, 40, 1, noise=0, edges=False, frequency=0.1)], axis=2)
    rgba[:8, :8, 3] = 0  # fully transparent corner: PIL's convert("RGB") keeps its colours
    save("rgba_portrait.png", Image.fromarray(rgba, "RGBA"))
    la = np.concatenate([pattern(rng, 14, 11, 1), pattern(rng, 14, 11, 1, edges=False)], axis=2)
    save("la_small.png", Image.fromarray(la, "LA"))
    indices = (pattern(rng, 25, 43, 1, noise=30)[..., 0] // 16).astype(np.uint8)
    paletted = Image.fromarray(indices, "P")
    paletted.putpalette(rng.integers(0, 256, 16 * 3, dtype=np.uint8).tobytes())
    save("palette_landscape.png", paletted, transparency=3)
    save("small_upscale.png", Image.fromarray(pattern(rng, 14, 9, 3), "RGB"))
    save("large_landscape.png", Image.fromarray(pattern(rng, 97, 161, 3, noise=0, frequency=0.08), "RGB"))
    save("photo.jpg", Image.fromarray(pattern(rng, 30, 39, 3, noise=8), "RGB"), quality=90)
    save("gray_photo.jpg", Image.fromarray(pattern(rng, 47, 33, 1, noise=8)[..., 0], "L"), quality=90)
    save("tiny.bmp", Image.fromarray(pattern(rng, 9, 13, 3), "RGB"))
    return files


def write_fuzz_corpus(rng, out):
    """Tiny seeds for fuzz/fuzz_image.cpp: each format and pixel layout stb decodes."""
    os.makedirs(out, exist_ok=True)
    rgb = Image.fromarray(pattern(rng, 6, 5, 3), "RGB")
    gray = Image.fromarray(pattern(rng, 5, 4, 1)[..., 0], "L")
    rgb.save(os.path.join(out, "rgb.png"))
    gray.save(os.path.join(out, "gray.png"))
    Image.fromarray(pattern(rng, 3, 4, 2), "LA").save(os.path.join(out, "gray_alpha.png"))
    Image.fromarray(pattern(rng, 3, 2, 4), "RGBA").save(os.path.join(out, "rgba.png"))
    paletted = Image.fromarray((pattern(rng, 4, 3, 1)[..., 0] // 64).astype(np.uint8), "P")
    paletted.putpalette(rng.integers(0, 256, 4 * 3, dtype=np.uint8).tobytes())
    paletted.save(os.path.join(out, "palette.png"), transparency=1)
    Image.fromarray((pattern(rng, 3, 3, 1)[..., 0].astype(np.uint16) * 257), "I;16").save(
        os.path.join(out, "gray16.png"))
    Image.fromarray(pattern(rng, 4, 7, 1)[..., 0] > 127).save(os.path.join(out, "bilevel.png"))
    color = Image.fromarray(pattern(rng, 16, 16, 3, noise=4), "RGB")
    color.save(os.path.join(out, "color420.jpg"), quality=80)
    color.save(os.path.join(out, "color422.jpg"), quality=80, subsampling=1)
    color.save(os.path.join(out, "color444.jpg"), quality=80, subsampling=0)
    color.save(os.path.join(out, "progressive.jpg"), quality=80, progressive=True)
    gray.save(os.path.join(out, "gray.jpg"), quality=80)
    rgb.save(os.path.join(out, "rgb.bmp"))
    paletted.convert("RGB").quantize(4).save(os.path.join(out, "palette.gif"))
    rgb.save(os.path.join(out, "rgb.tga"))
    rgb.save(os.path.join(out, "rgb.ppm"))
    gray.save(os.path.join(out, "gray.pgm"))


def clip_transform(resolution):
    return transforms.Compose([
        transforms.Resize(resolution, interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(resolution),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def crop_pil(image, resolution):
    """Resize then CenterCrop, on a PIL image, as torchvision does before ToTensor."""
    resized = transforms.Resize(resolution, interpolation=InterpolationMode.BICUBIC)(image)
    return transforms.CenterCrop(resolution)(resized)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "image"))
    parser.add_argument("--corpus", default=os.path.join(ROOT, "fuzz", "corpus", "image"))
    args = parser.parse_args()
    out = args.out
    for sub in ("", "decoded", "resized", "crops", "tensors"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    rng = np.random.default_rng(20240611)
    files = make_inputs(rng, out)
    lines = [
        f"# tools/image_reference.py: PIL {PIL.__version__}, torchvision {torchvision.__version__}, "
        f"torch {torch.__version__}",
        "# decode <input> <PIL's convert('RGB') as PNG>",
        "# resize <source PNG> <channels: 3, or 1 for channel 0 only> <filter> <width> <height> <PIL's resize>",
        "# crop <input> <resolution> <torchvision's Resize + CenterCrop as PNG>",
        "# preprocess <input> <resolution> <torchvision tensor, float32 [3, R, R] raw little-endian>",
    ]

    decoded = {}
    for stem, name in files.items():
        image = Image.open(os.path.join(out, name))
        if image.format == "PNG" and image.mode == "RGB":
            decoded[stem] = name  # already what convert("RGB") gives
        else:
            decoded[stem] = f"decoded/{stem}.png"
            image.convert("RGB").save(os.path.join(out, decoded[stem]))
        lines.append(f"decode {name} {decoded[stem]}")

    def resize(stem, width, height, filter_name="bicubic", gray=False):
        source = Image.open(os.path.join(out, files[stem] if gray else decoded[stem]))
        source = source.convert("L") if gray else source
        resized = source.resize((width, height), FILTERS[filter_name])
        if resized.size == source.size:
            assert np.array_equal(np.asarray(resized), np.asarray(source))
            golden = decoded[stem]  # PIL copies; so must tailor
        else:
            golden = f"resized/{stem}_{filter_name}_{width}x{height}{'_c1' if gray else ''}.png"
            resized.save(os.path.join(out, golden))
        lines.append(f"resize {decoded[stem]} {1 if gray else 3} {filter_name} {width} {height} {golden}")

    resize("rgb_portrait", 24, 35)        # the CLIP shortest-side resize at R = 24
    resize("rgb_portrait", 7, 11)         # downscale by ~4.3: support widened
    resize("rgb_portrait", 31, 20)        # height only: PIL skips the horizontal pass
    resize("rgb_portrait", 40, 46)        # width only, upscaling
    resize("rgb_portrait", 31, 46)        # identity
    resize("rgb_portrait", 64, 5)         # up one way, down the other
    resize("large_landscape", 39, 24)
    resize("large_landscape", 16, 9)      # downscale by ~10
    resize("large_landscape", 39, 24, "bilinear")
    resize("large_landscape", 39, 24, "lanczos")
    resize("small_upscale", 24, 37)
    resize("small_upscale", 32, 49)
    resize("small_upscale", 24, 37, "bilinear")
    resize("small_upscale", 24, 37, "lanczos")
    resize("gray_landscape", 31, 24, gray=True)
    resize("photo", 31, 24)
    resize("rgba_portrait", 24, 31)
    resize("tiny", 1, 1)                  # one output pixel averages the whole image

    # R = 24 everywhere, R = 32 where it changes the crop rounding or the upscale.
    crop_cases = [(stem, 24) for stem in files if stem not in ("tiny", "la_small")]
    crop_cases += [("gray_landscape", 32), ("small_upscale", 32), ("large_landscape", 32)]
    tensor_cases = {("rgb_portrait", 24), ("large_landscape", 24)}
    mean = np.asarray(MEAN, np.float32)[:, None, None]
    std = np.asarray(STD, np.float32)[:, None, None]
    for stem, resolution in crop_cases:
        image = Image.open(os.path.join(out, files[stem])).convert("RGB")
        tensor = clip_transform(resolution)(image).numpy()
        assert tensor.dtype == np.float32 and tensor.shape == (3, resolution, resolution)
        crop = crop_pil(image, resolution)
        planes = np.asarray(crop).transpose(2, 0, 1).astype(np.float32)
        assert np.array_equal(tensor, (planes / np.float32(255) - mean) / std), stem
        golden = f"crops/{stem}_r{resolution}.png"
        crop.save(os.path.join(out, golden))
        lines.append(f"crop {files[stem]} {resolution} {golden}")
        if (stem, resolution) in tensor_cases:
            golden = f"tensors/{stem}_r{resolution}.f32"
            tensor.astype("<f4").tofile(os.path.join(out, golden))
            lines.append(f"preprocess {files[stem]} {resolution} {golden}")

    # OpenAI's order (convert after the crop) against the loader's, for the record.
    for stem in ("palette_landscape", "rgba_portrait"):
        image = Image.open(os.path.join(out, files[stem]))
        late = np.asarray(crop_pil(image, 24).convert("RGB")).astype(int)
        early = np.asarray(crop_pil(image.convert("RGB"), 24)).astype(int)
        print(f"{stem}: convert-after-crop differs from convert-first by up to "
              f"{np.abs(late - early).max()} levels")

    write_fuzz_corpus(np.random.default_rng(7), args.corpus)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(out) for n in ns)
    print(f"wrote {len(lines) - 4} checks to {out} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Runs tailor_demo's real-data path end to end on a random-weight CLIP checkpoint and
generated images (both written by make_tiny_clip) and checks:
  - the outputs as check_demo.py checks the generated world's (every accuracy recomputed
    from predictions.csv and classes.csv, the LGR rows from their logits), plus split.csv:
    every listed image in exactly one split, the documented split rule per class, the counts
    of classes.csv and the test labels of predictions.csv;
  - the feature cache: the first run extracts and writes it, a second run loads both parts
    and predicts the same; damaged data (one flipped byte, a truncated file) is detected
    and rebuilt; a changed weights file or vision configuration makes it stale, and only
    the parts that depend on the change are recomputed; --no-cache and --cache-dir;
  - --templates, and clear errors for bad input, each naming what is wrong;
  - --help documents every real-data option.
Usage: check_demo_images.py DEMO_BINARY MAKE_TINY_CLIP VOCAB WORK_DIR"""
import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from check_demo import check_outputs, fail  # noqa: E402

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".psd", ".hdr", ".pic", ".pnm", ".ppm", ".pgm"}
SETTINGS = ["alpha=0", "alpha=1", "tau=0.1"]


def run(args, expect_ok=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if expect_ok and result.returncode != 0:
        fail(f"{' '.join(map(str, args))}\nexited {result.returncode}: {result.stderr}")
    return result


def expect_error(args, *needles):
    """The run fails, and its message contains every needle."""
    result = run(args, expect_ok=False)
    message = result.stderr + result.stdout
    if result.returncode == 0:
        fail(f"expected a failure: {' '.join(map(str, args))}")
    for needle in needles:
        if needle not in message:
            fail(f"the error of {' '.join(map(str, args[1:]))} does not mention '{needle}':\n{message}")
    return (result.stderr or result.stdout).strip().splitlines()[0]


def cache_status(out):
    return json.load(open(out / "results.json"))["data"]["feature_cache"]


def expect_cache(out, image_features, text_embeddings, written, reason=None):
    c = cache_status(out)
    got = (c["image_features"], c["text_embeddings"], c["written"])
    if got != (image_features, text_embeddings, written):
        fail(f"{out.name}: cache (image features, text, written) = {got}, expected "
             f"{(image_features, text_embeddings, written)}; reason: {c['reason']}")
    if reason is not None and reason not in c["reason"]:
        fail(f"{out.name}: the cache's reason '{c['reason']}' does not mention '{reason}'")
    return c


def same_predictions(a, b):
    if (a / "predictions.csv").read_bytes() != (b / "predictions.csv").read_bytes():
        fail(f"{a.name} and {b.name} predict differently from the same features")


def check_split(out, images):
    """split.csv against the folder and the documented rule."""
    folders = sorted(p.name for p in images.iterdir() if p.is_dir() and not p.name.startswith("."))
    listed = {f: sorted(p.name for p in (images / f).iterdir()
                        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)
              for f in folders}
    split = list(csv.DictReader(open(out / "split.csv")))
    seen = {}
    for r in split:
        folder, name = r["path"].split("/")
        if folders[int(r["class"])] != folder:
            fail(f"split.csv: {r['path']} labelled {r['class']}")
        if r["path"] in seen:
            fail(f"split.csv lists {r['path']} twice")
        seen[r["path"]] = r
    expected = {f"{f}/{n}" for f in folders for n in listed[f]}
    if set(seen) != expected:
        fail(f"split.csv covers {sorted(seen)}, the folder holds {sorted(expected)}")
    classes = list(csv.DictReader(open(out / "classes.csv")))
    for c, folder in enumerate(folders):
        n = len(listed[folder])
        want_test = min(max(int(0.2 * n + 0.5), 1), n - 1)
        test = [r for r in split if int(r["class"]) == c and r["split"] == "test"]
        if len(test) != want_test:
            fail(f"class {folder}: {len(test)} test images of {n}, the rule gives {want_test}")
        row = classes[c]
        if (row["name"], int(row["training_count"]), int(row["test_count"])) != \
                (folder.replace("_", " "), n - want_test, want_test):
            fail(f"classes.csv row {row} disagrees with the folder {folder} ({n} images)")
    for part in ("train", "test"):
        samples = sorted(int(r["sample"]) for r in split if r["split"] == part)
        if samples != list(range(len(samples))):
            fail(f"split.csv: the {part} samples are not 0..n-1")
    truth = {int(r["sample"]): int(r["class"]) for r in split if r["split"] == "test"}
    for r in csv.DictReader(open(out / "predictions.csv")):
        if truth[int(r["sample"])] != int(r["truth"]):
            fail(f"predictions.csv: test sample {r['sample']} has truth {r['truth']}, split.csv says "
                 f"{truth[int(r['sample'])]}")
    return len(split)


def main():
    demo, make, vocab, work = sys.argv[1], sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run([make, work])
    model, images, config = work / "tiny-clip.safetensors", work / "images", work / "config.json"
    base = [demo, "--weights", model, "--vocab", vocab, "--images", images, "--hf-config", config,
            "--epochs", "10", "--batch", "8", "--alpha-sweep", "0", "1", "--tau-sweep", "0.1", "--save-logits",
            "--no-progress"]

    def demo_run(name, *extra, swap=None):
        """A run into WORK/name; swap: {argument: replacement} in the base arguments."""
        out = work / name
        args = [(swap or {}).get(a, a) for a in base]
        result = run(args + ["--out", out] + list(extra))
        return out, result.stdout

    # 1. First run: extracts, writes the cache (default place: IMAGES/.tailor-cache).
    first, stdout = demo_run("first")
    rows, checked, fused = check_outputs(first, SETTINGS, extra_files=["split.csv"])
    images_listed = check_split(first, images)
    doc = json.load(open(first / "results.json"))
    data = doc["data"]
    if doc["source"] != "images" or data["class_names"] != ["blue checks", "green stripes", "red disc"] or \
            data["ignored_files"] != 1 or len(data["templates"]) != 8:
        fail(f"results.json data section: {data}")
    if doc["lgr"]["anchors_per_class"] != 8:
        fail("LGR anchors per class should be the 8 default templates")
    cache = expect_cache(first, "missing", "missing", True)
    cache_file = pathlib.Path(cache["path"])
    if cache_file.parent != images / ".tailor-cache" or not cache_file.is_file():
        fail(f"the cache file is {cache_file}, expected it under {images / '.tailor-cache'}")
    if "extracted" not in stdout or "(classes)" not in stdout:
        fail(f"stdout of the first run:\n{stdout}")

    # 2. Second run: both parts from the cache, the same predictions.
    second, stdout = demo_run("second")
    expect_cache(second, "hit", "hit", False)
    if "image features of 21 images: loaded from the cache" not in stdout:
        fail(f"the second run does not say it loaded cached features:\n{stdout}")
    same_predictions(first, second)
    check_outputs(second, SETTINGS, extra_files=["split.csv"])

    # 3. One flipped byte inside the image features: the checksum catches it, the part is rebuilt.
    raw = bytearray(cache_file.read_bytes())
    header_length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_length])
    begin, end = header["image_features"]["data_offsets"]
    raw[8 + header_length + (begin + end) // 2] ^= 0x40
    cache_file.write_bytes(bytes(raw))
    flipped, _ = demo_run("flipped")
    expect_cache(flipped, "invalid", "hit", True, reason="checksum")
    same_predictions(first, flipped)
    again, _ = demo_run("again")
    expect_cache(again, "hit", "hit", False)

    # 4. A truncated file: unreadable, both parts rebuilt.
    cache_file.write_bytes(cache_file.read_bytes()[: len(raw) // 2])
    truncated, _ = demo_run("truncated")
    expect_cache(truncated, "invalid", "invalid", True, reason="unreadable")
    same_predictions(first, truncated)

    # 5. Stale: the weights file's time changed (same contents, so the same predictions).
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched, _ = demo_run("touched")
    expect_cache(touched, "stale", "stale", True, reason="weights")
    same_predictions(first, touched)

    # 6. Stale vision only: another activation in the vision tower keeps the text part.
    gelu = work / "config-gelu.json"
    gelu.write_text(json.dumps({"vision_config": {"num_attention_heads": 2, "hidden_act": "gelu"},
                                "text_config": {"num_attention_heads": 2, "hidden_act": "quick_gelu"}}))
    vision_changed, _ = demo_run("vision_changed", swap={config: gelu})
    expect_cache(vision_changed, "stale", "hit", True, reason="vision")

    # 7. --no-cache, --cache-dir, --templates.
    no_cache, _ = demo_run("no_cache", "--no-cache")
    c = expect_cache(no_cache, "disabled", "disabled", False)
    if c["path"]:
        fail("--no-cache still names a cache file")
    same_predictions(first, no_cache)
    templates = work / "templates.txt"
    templates.write_text("# two templates\n\na photo of a {}.\n  a drawing of the {}.  \n")
    elsewhere, _ = demo_run("elsewhere", "--cache-dir", work / "cache", "--templates", templates)
    c = expect_cache(elsewhere, "missing", "missing", True)
    if pathlib.Path(c["path"]).parent != work / "cache":
        fail(f"--cache-dir: the cache is {c['path']}")
    d = json.load(open(elsewhere / "results.json"))
    if d["data"]["templates"] != ["a photo of a {}.", "a drawing of the {}."] or d["lgr"]["anchors_per_class"] != 2:
        fail(f"--templates: {d['data']['templates']}, {d['lgr']['anchors_per_class']} anchors per class")
    check_outputs(elsewhere, SETTINGS, extra_files=["split.csv"])

    # 8. Errors: each names what is wrong.
    def variant(name, *extra):
        args = [a if a != images else work / name for a in base] + ["--out", work / "out_err", "--no-cache"]
        return args + list(extra)

    errors = []
    missing = work / "missing.safetensors"
    errors.append(expect_error([a if a != model else missing for a in base] + ["--out", work / "out_err"],
                               str(missing), "no such file"))
    (work / "empty").mkdir()
    errors.append(expect_error(variant("empty"), "no class folders"))
    shutil.copytree(images, work / "broken", ignore=shutil.ignore_patterns(".tailor-cache"))
    (work / "broken" / "green_stripes" / "img_zz.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a picture")
    errors.append(expect_error(variant("broken"), "img_zz.png"))
    shutil.copytree(images, work / "lonely", ignore=shutil.ignore_patterns(".tailor-cache"))
    (work / "lonely" / "lonely_cat").mkdir()
    shutil.copy(images / "red_disc" / "img_00.png", work / "lonely" / "lonely_cat" / "only.png")
    errors.append(expect_error(variant("lonely"), "lonely cat", "at least 2"))
    errors.append(expect_error([a if a != model else work / "tiny-clip-vocab1000.safetensors" for a in base] +
                               ["--out", work / "out_err", "--no-cache"], "vocabulary mismatch", "49408", "1000"))
    bad_templates = work / "bad_templates.txt"
    bad_templates.write_text("a photo of a {}.\na photo without a slot.\n")
    errors.append(expect_error(base + ["--out", work / "out_err", "--no-cache", "--templates", bad_templates],
                               str(bad_templates), "line 2"))
    errors.append(expect_error(base + ["--out", work / "out_err", "--classes", "5"], "--classes", "--images"))
    errors.append(expect_error([demo, "--weights", model, "--out", work / "out_err"], "--vocab"))
    (work / "vocab_folder").mkdir()
    errors.append(expect_error([a if a != vocab else work / "vocab_folder" for a in base] +
                               ["--out", work / "out_err", "--no-cache"], "vocab.json"))

    # 9. --help documents every option of the real-data path.
    help_text = run([demo, "--help"]).stdout
    for option in ["--weights", "--vocab", "--images", "--hf-config", "--templates", "--cache-dir", "--no-cache",
                   "--test-fraction", "--split-seed", "--extract-batch", "--extract-threads"]:
        if option not in help_text:
            fail(f"--help does not document {option}")

    print(f"demo real-data path consistent: {images_listed} images split, {len(rows)} rows, {checked} accuracies and "
          f"{fused} LGR predictions recomputed; cache hit, damage, staleness and {len(errors)} error cases checked")
    for line in errors:
        print("  error:", line)


if __name__ == "__main__":
    main()

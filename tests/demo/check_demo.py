#!/usr/bin/python3
"""Runs tailor_demo on a reduced world and checks its outputs: every file is there and
well-formed, and every accuracy in results.csv / results.json equals an independent
recomputation from predictions.csv and classes.csv (paper convention: many n > 100,
medium 20 <= n <= 100, few n < 20, mean of per-class accuracies). The LGR head's rows are
also recomputed one level down: from its saved test logits (lgr_logits.csv), the image and
text rows are their branch's argmax and the fused row is the argmax of
alpha softmax(image) + (1 - alpha) softmax(text) with alpha from results.json.
check_outputs() is shared with check_demo_images.py (the real-data path).
Usage: check_demo.py DEMO_BINARY WORK_DIR"""
import csv
import json
import math
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def group(n):
    return "many" if n > 100 else ("few" if n < 20 else "medium")


MAIN_METHODS = {"zero-shot", "CE", "BalCE", "Focal", "LDAM-DRW", "MMS", "Mixup", "Remix", "LFM+CE", "LFM+MMS",
                "LGR image", "LGR text", "LGR fused"}
OUTPUT_FILES = ["results.csv", "results.json", "predictions.csv", "classes.csv", "per_class_accuracy.svg",
                "sweep_alpha.svg", "sweep_tau.svg", "lgr_logits.csv"]


def check_outputs(out, expected_settings, extra_files=()):
    """Checks a finished run's folder (all methods, --save-logits, sweeps with
    expected_settings); returns (rows, accuracies checked, LGR predictions checked)."""
    for name in OUTPUT_FILES + list(extra_files):
        if not (out / name).is_file():
            fail(f"missing {name}")
    for svg in out.glob("*.svg"):
        root = ET.parse(svg).getroot()
        if not root.tag.endswith("svg") or len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 0:
            fail(f"{svg.name} has no data points")

    counts = {int(r["class"]): int(r["training_count"]) for r in csv.DictReader(open(out / "classes.csv"))}
    hits, totals, predicted = {}, {}, {}
    for r in csv.DictReader(open(out / "predictions.csv")):
        key = (r["method"], r["setting"])
        predicted.setdefault(key, {})[int(r["sample"])] = int(r["prediction"])
        t = int(r["truth"])
        totals.setdefault(key, {}).setdefault(t, 0)
        hits.setdefault(key, {}).setdefault(t, 0)
        totals[key][t] += 1
        hits[key][t] += int(r["prediction"]) == t

    def recompute(key):
        per_group = {"many": [], "medium": [], "few": [], "all": []}
        for c, n in totals[key].items():
            acc = hits[key][c] / n
            per_group[group(counts[c])].append(acc)
            per_group["all"].append(acc)
        return {g: (100 * sum(v) / len(v) if v else math.nan) for g, v in per_group.items()}, \
            {g: len(v) for g, v in per_group.items()}

    rows = list(csv.DictReader(open(out / "results.csv")))
    if {r["method"] for r in rows if not r["setting"]} != MAIN_METHODS:
        fail(f"methods in results.csv: {sorted(r['method'] for r in rows)}")
    if sorted(r["setting"] for r in rows if r["setting"]) != sorted(expected_settings):
        fail("sweep rows missing")
    checked = 0
    for r in rows:
        want, classes = recompute((r["method"], r["setting"]))
        for g in ["many", "medium", "few", "all"]:
            got = float(r[g]) if r[g] not in ("nan", "") else math.nan
            if not (math.isnan(got) and math.isnan(want[g])) and abs(got - want[g]) > 1e-6:
                fail(f"{r['method']} {r['setting']} {g}: results.csv {got}, recomputed {want[g]}")
            if g != "all" and int(r[f"{g}_classes"]) != classes[g]:
                fail(f"{r['method']} {r['setting']}: {r[f'{g}_classes']} {g} classes, recomputed {classes[g]}")
            checked += 1
    doc = json.load(open(out / "results.json"))
    if len(doc["results"]) != len(rows):
        fail("results.json and results.csv disagree on the number of rows")
    for item, r in zip(doc["results"], rows):
        acc = item["all"]["accuracy"]
        if abs(100 * acc - float(r["all"])) > 1e-6:
            fail(f"results.json all-accuracy {acc} vs results.csv {r['all']} for {r['method']}")
        for g in ["many", "medium", "few"]:
            empty = item[g]["classes"] == 0
            if empty != (item[g]["accuracy"] is None) or empty != (r[g] == "nan"):
                fail(f"{r['method']}: an empty {g} group must be null in results.json and nan in results.csv")
    fused = check_lgr(out, doc["lgr"]["alpha"], predicted, len(counts))
    return rows, checked, fused


def main():
    demo, work = sys.argv[1], pathlib.Path(sys.argv[2])
    out = work / "out"
    args = [demo, "--classes", "24", "--super-classes", "4", "--dim", "16", "--max-count", "200", "--imbalance", "50",
            "--test-per-class", "10", "--epochs", "3", "--alpha-sweep", "0", "1", "--tau-sweep", "0.1",
            "--anchors-min", "2", "--anchors-max", "6", "--save-logits", "--no-progress", "--out", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        fail(f"demo exited {run.returncode}: {run.stderr}")
    rows, checked, fused = check_outputs(out, ["alpha=0", "alpha=1", "tau=0.1"])
    print(f"demo outputs consistent: {len(rows)} rows, {checked} accuracies recomputed, "
          f"{fused} LGR predictions recomputed from its logits")


def softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    s = sum(e)
    return [v / s for v in e]


def check_lgr(out, alpha, predicted, classes):
    """The LGR rows' predictions against their logits: argmax per branch, probability fusion."""
    logits = {"image": {}, "text": {}}
    for r in csv.DictReader(open(out / "lgr_logits.csv")):
        logits[r["branch"]][int(r["sample"])] = [float(r[f"c{c}"]) for c in range(classes)]
    if set(logits["image"]) != set(logits["text"]) or set(logits["image"]) != set(predicted[("LGR fused", "")]):
        fail("lgr_logits.csv does not cover the test samples of predictions.csv")

    def agrees(scores, chosen, what, i):
        # float32 logits printed with 9 digits: accept a choice within rounding of the maximum
        best = max(scores)
        if scores[chosen] < best - 1e-5 * max(1.0, abs(best)):
            fail(f"{what} prediction of sample {i}: class {chosen} scores {scores[chosen]}, the maximum is {best}")

    checked = 0
    for i, z_img in logits["image"].items():
        z_txt = logits["text"][i]
        agrees(z_img, predicted[("LGR image", "")][i], "LGR image", i)
        agrees(z_txt, predicted[("LGR text", "")][i], "LGR text", i)
        p = [alpha * a + (1 - alpha) * b for a, b in zip(softmax(z_img), softmax(z_txt))]
        agrees(p, predicted[("LGR fused", "")][i], "LGR fused", i)
        checked += 3
    return checked


if __name__ == "__main__":
    main()

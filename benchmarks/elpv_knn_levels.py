"""Diagnostic: the pretrained kNN on features from each depth of EfficientNet-Lite0, and whether the labelled anomalies can choose the depth.

The kNN baseline (ossad.models.knn, `ossad train --method knn`) pools the last map of the network (1280 channels at
stride 32, after the head convolution). Earlier maps see smaller structures. For every ELPV image at 224 px this
script pools the maps at strides 8, 16 and 32 (the block outputs with 40, 112 and 320 channels) and the head's map,
each by its mean and by its maximum, and runs the same kNN (k = 5, standardised over the split's normal training images)
on each of the eight feature sets.

Then it lets the labels choose: on each split, every feature set gets a score computed from the training images only,
the AUROC of the labelled anomalies against the normal training images (each of those scored leave-one-out, without
itself in the bank), and the feature set with the highest wins. That is what a method that uses the labels for model
selection would do. The table shows each feature set's test AUROC, the chosen one's, and the two baselines.
Writes benchmarks/results/<name>.{md,csv} with the command, machine, seeds and date.

    python benchmarks/elpv_knn_levels.py --seeds 0 1 2
"""
import argparse, csv, shlex, sys, time
from pathlib import Path

import torch

from ossad.backbones import to_model_input
from ossad.core import machine_info, describe_machine, Timer
from ossad.data import load_elpv
from ossad.metrics import auroc
from ossad.models.knn import knn_scores
from ossad.protocols import make_split
from ossad.runs import make_config, build_detector

from elpv_settings import SETTINGS   # shared with the other ELPV benchmark scripts

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--settings", nargs="+", default=["general-10", "hard-10-mono", "hard-10-poly"], choices=[s for s in SETTINGS if SETTINGS[s]["shots"] > 1])
ap.add_argument("--name", default="elpv_knn_levels")
args = ap.parse_args()

cfg = make_config("knn", "teaching", {})
if cfg.model.backbone != "efficientnet_lite0": sys.exit(f"this diagnostic reads EfficientNet-Lite0's levels; the knn preset's backbone is {cfg.model.backbone}")
size, bs, k = cfg.train.image_size, cfg.train.eval_batch_size, cfg.model.k
out = Path(__file__).resolve().parent / "results"; out.mkdir(exist_ok=True)
command = " ".join(["python benchmarks/elpv_knn_levels.py", *(shlex.quote(a) for a in sys.argv[1:])])
machine = describe_machine(machine_info("cpu"))

data = load_elpv()
x = data.tensors(size, progress=False)
knn = build_detector("knn", cfg, 0).eval()
bb = knn.backbone
names = {2: "stride 8 (40 ch)", 3: "stride 16 (112 ch)", 4: "stride 32 (320 ch)", "head": "head, stride 32 (1280 ch)"}
parts = {}
with Timer() as t, torch.no_grad():
    for i in range(0, len(x), bs):   # in float32, channels-last, as KNN.features
        h = bb.stem(to_model_input(x[i:i + bs]).float().contiguous(memory_format=torch.channels_last))
        maps = {}
        for j, block in enumerate(bb._blocks):
            h = block(h)
            if j in bb.level_blocks: maps[bb.level_blocks.index(j)] = h
        maps["head"] = bb.act(bb._bn1(bb._conv_head(h)))
        for lv in names:
            parts.setdefault((lv, "mean"), []).append(maps[lv].mean((2, 3)))
            parts.setdefault((lv, "max"), []).append(maps[lv].amax((2, 3)))
feats = {key: torch.cat(v) for key, v in parts.items()}
print(f"features of {len(x)} images at {size} px: {t.seconds:.0f} s", flush=True)
base_key = ("head", "mean")   # the baseline's features: KNN.features pools the head's map by its mean
assert torch.allclose(feats[base_key][:bs], knn.features(to_model_input(x[:bs])), atol=1e-4), "the head-mean features differ from KNN.features"

def label(key): return f"{names[key[0]]}, {key[1]}"

rows = []
for seed in args.seeds:
    for sname in args.settings:
        split = make_split(data, seed=seed, **SETTINGS[sname])
        tn, ta, te = split.train_normal.index, split.train_anomalies.index, split.test.index
        y_sel = torch.cat([torch.zeros(len(tn)), torch.ones(len(ta))])
        test_auc, sel = {}, {}
        for key, f in feats.items():
            knn.set_bank(f[tn])                                   # standardised over the normal training images
            test_auc[key] = auroc(split.test.labels != 0, knn.score_features(f[te]))
            loo = knn_scores(knn.bank, knn.bank, k + 1) * (k + 1) / k   # each normal without itself (its own distance is 0)
            s_an = knn.score_features(f[ta])
            sel[key] = auroc(y_sel, torch.cat([loo, s_an]))
        chosen = max(sel, key=sel.get)
        for key in feats:
            rows.append(dict(setting=sname, seed=seed, features=label(key), test_auroc=test_auc[key], label_auroc=sel[key], chosen=key == chosen))
        print(f"{sname:>13} seed {seed}: labels choose {label(chosen)} (train AUROC {sel[chosen]:.3f}) -> test {test_auc[chosen]:.3f}; "
              f"baseline {test_auc[base_key]:.3f}; best on test {max(test_auc.values()):.3f}", flush=True)

ref = {(r["setting"], int(r["seed"])): float(r["auroc"]) for r in csv.DictReader(open(out / "elpv_knn.csv"))}   # the baseline's own results
for r in rows:
    key = (r["setting"], r["seed"])
    if r["features"] == label(base_key) and key in ref and abs(ref[key] - r["test_auroc"]) > 1e-4:
        sys.exit(f"{key}: the head-mean kNN gives {r['test_auroc']:.6f} here but {ref[key]:.6f} in elpv_knn.csv: not the baseline's computation")

with open(out / f"{args.name}.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)

def ms(vals):
    if not vals: return "–"
    m = sum(vals) / len(vals); sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f}"

dark = {}
with open(out / "elpv_brightness_baseline.csv") as f:
    for r in csv.DictReader(f):
        if int(r["seed"]) in args.seeds and r["setting"] in args.settings: dark.setdefault(r["setting"], []).append(float(r["auroc"]))
lines = [f"# ELPV: the pretrained kNN on each depth of EfficientNet-Lite0, and the depth the labels choose", "",
         f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.", "",
         f"- machine: {machine}",
         f"- seeds: {args.seeds} (each seeds the split; nothing is trained); {size} px; ImageNet weights; k = {k}; features standardised over each split's normal training images",
         "- chosen by the labels: on each split, the feature set whose training AUROC (labelled anomalies against the normal training images, each scored leave-one-out) is highest; no test image is used to choose", "",
         "| test AUROC (mean ± std over seeds) | " + " | ".join(args.settings) + " |", "|---|" + "---|" * len(args.settings)]
for key in feats:
    star = " (the kNN baseline's features)" if key == base_key else ""
    lines.append(f"| {label(key)}{star} | " + " | ".join(ms([r["test_auroc"] for r in rows if r["setting"] == s and r["features"] == label(key)]) for s in args.settings) + " |")
lines.append("| **chosen by the labelled anomalies** | " + " | ".join(ms([r["test_auroc"] for r in rows if r["setting"] == s and r["chosen"]]) for s in args.settings) + " |")
lines.append("| *darkness (no training)* | " + " | ".join(ms(dark.get(s, [])) for s in args.settings) + " |")
lines += ["", "What the labels chose, per seed: " + "; ".join(
    f"{s} " + ", ".join(f"seed {r['seed']}: {r['features']}" for r in rows if r["setting"] == s and r["chosen"]) for s in args.settings) + ".",
          "", f"One row per (setting, seed, feature set) in {args.name}.csv, with the training AUROC the choice used. The darkness row comes from "
          "elpv_brightness_baseline.csv (same splits). In the hard settings the normal training images and the test set are the same for every seed: "
          "only the labelled anomalies, and so the choice, change with it."]
(out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

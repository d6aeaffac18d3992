"""Baseline: the pretrained-feature kNN (`ossad train --method knn`) on ELPV, over the settings and seeds of the method tables.

No labels and no training: a frozen backbone (default EfficientNet-Lite0 with the ImageNet weights installed with ossad),
globally pooled features at 224 px, the mean distance to the 5 nearest standardised training-normal features
(ossad.models.knn). The features of every ELPV image are computed once; each (setting, seed) then takes the bank from
its split's normal training images and scores its test images with the detector's own `set_bank` and
`score_features`, which is what `ossad train --method knn` computes for that split (the script checks this on the
first split against a full `Learner` run and stops if they differ). Writes benchmarks/results/<name>.{md,csv} with the
command, machine, seeds and date; the darkness baseline (benchmarks/elpv_brightness_baseline.py) is shown beside it.

    python benchmarks/elpv_knn.py --seeds 0 1 2
    python benchmarks/elpv_knn.py --settings anomaly-free contamination-5 contamination-10 small-10 small-50 --name elpv_knn_one_class --dark elpv_brightness_one_class
    python benchmarks/elpv_knn.py --intensity standardized --settings general-1 general-10 hard-10-mono hard-10-poly --name elpv_knn_standardized --dark elpv_brightness_standardized
    python benchmarks/elpv_knn.py --backbone resnet18 --weights none --name elpv_knn_random   # random features
    python benchmarks/elpv_knn.py --set anomaly_weight=0.5 --settings general-1 general-10 hard-10-mono hard-10-poly --seeds 3 4 5 6 7 8 9 --name elpv_knn_labelled --dark elpv_brightness_seeds3_9

With `--set anomaly_weight=L` (L > 0) the labelled anomalies enter the score (chapter 19, "Using the labelled anomalies"),
and the table shows the plain kNN (L = 0) on the same splits beside it.
"""
import argparse, csv, shlex, sys, time
from pathlib import Path

import torch

from ossad.backbones import to_model_input
from ossad.core import machine_info, describe_machine, Timer
from ossad.data import load_elpv, standardized
from ossad.learner import Learner
from ossad.metrics import image_metrics
from ossad.models.knn import KNN, knn_scores
from ossad.protocols import make_split
from ossad.runs import make_config, build_detector, parse_sets

from elpv_settings import SETTINGS, DEFAULT_SETTINGS   # shared with the other ELPV benchmark scripts

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS + ["anomaly-free"], choices=list(SETTINGS))
ap.add_argument("--backbone", default=None, help="default: the knn preset's (efficientnet_lite0)")
ap.add_argument("--weights", default=None, help="none, imagenet, a file (default: the knn preset's, imagenet)")
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a knn setting, as `ossad train --set` (e.g. k=1, image_size=128)")
ap.add_argument("--intensity", default="as-loaded", choices=["as-loaded", "standardized"], help="standardized: every image standardised on its own, brightness taken away (the robustness panel)")
ap.add_argument("--batch-size", type=int, default=None, help="default: the knn config's eval_batch_size")
ap.add_argument("--name", default="elpv_knn")
ap.add_argument("--dark", default="elpv_brightness_baseline", help="the darkness baseline's results to show beside (benchmarks/results/<dark>.csv, same settings and seeds)")
ap.add_argument("--note", action="append", default=[], help="a line of context to add under the table (e.g. what shared the machine)")
args = ap.parse_args()

settings = {"backbone": args.backbone, "weights": args.weights}
settings.update(parse_sets(args.set))
cfg = make_config("knn", "teaching", settings)
size = cfg.train.image_size
labelled = KNN.needs_anomalies_for(cfg)   # anomaly_weight > 0: the labelled anomalies enter the score
if labelled and any(SETTINGS[s]["shots"] == 0 for s in args.settings):
    sys.exit(f"--set anomaly_weight > 0 needs labelled anomalies; these settings have none: {[s for s in args.settings if SETTINGS[s]['shots'] == 0]} (pass --settings)")
bs = args.batch_size or cfg.train.eval_batch_size
out = Path(__file__).resolve().parent / "results"; out.mkdir(exist_ok=True)
keep, skip = [], False
for a in sys.argv[1:]:   # the command without its --note lines
    if skip: skip = False; continue
    if a == "--note": skip = True; continue
    keep.append(a)
command = "python benchmarks/elpv_knn.py " + " ".join(shlex.quote(a) for a in keep)
machine = describe_machine(machine_info("cpu"))

data = load_elpv() if args.intensity == "as-loaded" else standardized(load_elpv())
x = data.tensors(size, progress=False)
knn = build_detector("knn", cfg, 0).eval()
with Timer() as t, torch.no_grad():
    feats = torch.cat([knn.features(to_model_input(x[i:i + bs])) for i in range(0, len(x), bs)])
speed = len(x) / t.seconds
print(f"features of {len(x)} images at {size} px: {t.seconds:.0f} s ({speed:.1f} images/s)", flush=True)

rows, checked = [], False
for seed in args.seeds:
    for name in args.settings:
        kw = SETTINGS[name]
        split = make_split(data, seed=seed, **kw)
        knn.set_bank(feats[split.train_normal.index])
        if labelled: knn.set_anomalies(feats[split.train_anomalies.index])
        scores = knn.score_features(feats[split.test.index])
        m = image_metrics(split.test.labels, scores, split.test.classes)
        if labelled:   # the plain kNN (anomaly_weight 0) on the same split, for the comparison
            plain = image_metrics(split.test.labels, knn_scores((feats[split.test.index] - knn.mean) / knn.std, knn.bank, cfg.model.k), split.test.classes)
        if not checked:   # the shortcut must equal a full run of the method on this split
            full = Learner(build_detector("knn", cfg, seed), split, cfg, seed=seed, progress=False)
            full.fit(); ref = full.evaluate()["auroc"]
            if abs(ref - m["auroc"]) > 1e-4: sys.exit(f"the cached-feature AUROC {m['auroc']:.6f} differs from the Learner's {ref:.6f}: not the same computation")
            print(f"check: cached features give AUROC {m['auroc']:.6f}, a full Learner run {ref:.6f}", flush=True); checked = True
        unseen = split.record["unseen_classes"] if kw["setting"] == "hard" else []
        rows.append(dict(setting=name, seed=seed, auroc=m["auroc"], auprc=m["auprc"], unseen_auroc=m["per_class_auroc"][unseen[0]] if unseen else ""))
        if labelled: rows[-1].update(plain_auroc=plain["auroc"], plain_unseen_auroc=plain["per_class_auroc"][unseen[0]] if unseen else "")
        print(f"{name:>13} seed {seed}: AUROC {m['auroc']:.4f} AUPRC {m['auprc']:.4f} {m['per_class_auroc']}", flush=True)

with open(out / f"{args.name}.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)

def ms(vals):
    vals = [v for v in vals if v != ""]
    if not vals: return "–"
    m = sum(vals) / len(vals); sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f}"

dark = {}
dark_csv = out / f"{args.dark}.csv"
if dark_csv.exists():
    with open(dark_csv) as f:
        for r in csv.DictReader(f):
            if int(r["seed"]) in args.seeds: dark.setdefault(r["setting"], {}).setdefault("auroc", []).append(float(r["auroc"]))
            if int(r["seed"]) in args.seeds and r["unseen_auroc"]: dark[r["setting"]].setdefault("unseen", []).append(float(r["unseen_auroc"]))
c = cfg.model
hard = [s for s in args.settings if s.startswith("hard")]
title = f"the kNN with the labelled anomalies (anomaly_weight {c.anomaly_weight}, anomaly_k {c.anomaly_k})" if labelled else "the pretrained-feature kNN baseline"
row = f"kNN + labelled anomalies (λ = {c.anomaly_weight})" if labelled else f"kNN, {c.backbone} {c.weights}"
lines = [f"# ELPV: {title} ({c.backbone}, weights {c.weights})", "",
         f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.", "",
         f"- machine: {machine}",
         f"- seeds: {args.seeds} (each seeds the split; nothing is trained); {size} px; pooled {c.backbone} features; "
         f"k = {c.k}; features standardised: {c.standardize}; " + (f"labelled anomalies used: λ = {c.anomaly_weight}, k_A = {c.anomaly_k}" if labelled else "labelled anomalies not used"),
         "- images: " + ("each standardised on its own (mean 128, std 40): brightness taken away" if args.intensity == "standardized" else "as loaded"),
         f"- feature extraction: {speed:.1f} images/s (batch {bs}, {torch.get_num_threads()} threads)", "",
         "| AUROC (mean ± std over seeds) | " + " | ".join(args.settings) + " |", "|---|" + "---|" * len(args.settings),
         f"| {row} | " + " | ".join(ms([r["auroc"] for r in rows if r["setting"] == s]) for s in args.settings) + " |"]
if labelled:
    lines.append("| kNN (λ = 0, same splits) | " + " | ".join(ms([r["plain_auroc"] for r in rows if r["setting"] == s]) for s in args.settings) + " |")
if dark:
    lines.append("| darkness (no training) | " + " | ".join(ms(dark.get(s, {}).get("auroc", [])) for s in args.settings) + " |")
if hard:
    lines += ["", "| AUROC on the unseen class | " + " | ".join(hard) + " |", "|---|" + "---|" * len(hard),
              f"| {row} | " + " | ".join(ms([r["unseen_auroc"] for r in rows if r["setting"] == s]) for s in hard) + " |"]
    if labelled: lines.append("| kNN (λ = 0) | " + " | ".join(ms([r["plain_unseen_auroc"] for r in rows if r["setting"] == s]) for s in hard) + " |")
    if dark: lines.append("| darkness | " + " | ".join(ms(dark.get(s, {}).get("unseen", [])) for s in hard) + " |")
lines += ["", f"One row per (setting, seed) in {args.name}.csv. The darkness rows come from {args.dark}.csv (same splits, 96 px). "
          "A spread of 0.000 over seeds is not robustness: the hard settings' normal training images and test set are the same for every seed "
          "(the seed draws only the labelled anomalies, which neither baseline uses), and nothing is trained, so no seed enters the scores otherwise."
          + (" With λ > 0 the labelled anomalies, and so the seed, do enter the score." if labelled else "")]
lines += [""] + [f"Note: {n}" for n in args.note]
(out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

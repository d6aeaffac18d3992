"""Baseline: how far does image darkness alone go on ELPV?

Defective solar cells are often darker than intact ones, so a "detector" that scores each image by its negative mean
intensity (no training at all) is the bar any learned ELPV detector should clear before we credit it with seeing
defects. Same splits (settings × seeds) as benchmarks/elpv_methods.py, images at the teaching resolution (96 px).
Writes benchmarks/results/elpv_brightness_baseline.{md,csv} with the command, machine and seeds.

    python benchmarks/elpv_brightness_baseline.py --seeds 0 1 2
    python benchmarks/elpv_brightness_baseline.py --intensity standardized --name elpv_brightness_standardized
    python benchmarks/elpv_brightness_baseline.py --settings anomaly-free contamination-5 contamination-10 small-10 small-50 --name elpv_brightness_one_class
"""
import argparse, csv, shlex, sys, time
from pathlib import Path

from ossad.core import machine_info, describe_machine
from ossad.data import load_elpv, mean_intensity, standardized
from ossad.metrics import image_metrics
from ossad.protocols import make_split

from elpv_settings import SETTINGS, DEFAULT_SETTINGS   # shared with the other ELPV benchmark scripts
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--size", type=int, default=96)
ap.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS, choices=list(SETTINGS))
ap.add_argument("--intensity", default="as-loaded", choices=["as-loaded", "standardized"], help="standardized: every image standardised on its own first (what is left of darkness once brightness is taken away)")
ap.add_argument("--name", default="elpv_brightness_baseline")
args = ap.parse_args()

data = load_elpv() if args.intensity == "as-loaded" else standardized(load_elpv())
rows = []
for seed in args.seeds:
    for name in args.settings:
        kw = SETTINGS[name]
        test = make_split(data, seed=seed, **kw).test
        score = -mean_intensity(test, args.size)
        m = image_metrics(test.labels, score, test.classes)
        unseen = [c for c in m["per_class_auroc"]] if kw["setting"] == "hard" else []
        rows.append(dict(setting=name, seed=seed, auroc=m["auroc"], auprc=m["auprc"], unseen_auroc=m["per_class_auroc"][unseen[0]] if unseen else ""))

out = Path(__file__).resolve().parent / "results"; out.mkdir(exist_ok=True)
with open(out / f"{args.name}.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
def ms(vals):
    m = sum(vals) / len(vals); sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f}"
lines = ["# ELPV: the darkness baseline", "",
         f"Produced by `python benchmarks/elpv_brightness_baseline.py {' '.join(shlex.quote(a) for a in sys.argv[1:])}` on {time.strftime('%Y-%m-%d')}.", "",
         f"- machine: {describe_machine(machine_info('cpu'))}", f"- seeds: {args.seeds}; score = negative mean pixel intensity at {args.size} px; no training; images "
         + ("each standardised on its own first (mean 128, std 40)" if args.intensity == "standardized" else "as loaded"), "",
         "| | " + " | ".join(args.settings) + " |", "|---|" + "---|" * len(args.settings)]
for key in ("auroc", "auprc"):
    lines.append(f"| {key.upper()} | " + " | ".join(ms([r[key] for r in rows if r["setting"] == s]) for s in args.settings) + " |")
hard = [s for s in args.settings if SETTINGS[s]["setting"] == "hard"]
if hard: lines.append("| AUROC on the unseen class | " + " | ".join(ms([r["unseen_auroc"] for r in rows if r["setting"] == s]) if s in hard else "–" for s in args.settings) + " |")
(out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

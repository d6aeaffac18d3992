"""Benchmark: what BGAD's second phase and its supervision buy on the toy set (hard setting, `hole` labelled).

Variants, each from the teaching preset (8 epochs of 8 image batches, seeded, final weights, one evaluation):

    phase 1 only      ml_epochs=8: the flows see normal images only, for as long as the full run trains (CFLOW-AD's recipe)
    pixel-level       the default: masks of the labelled holes, copy-paste pseudo anomalies from them
    image-level       supervision=image: each labelled hole's 10% least likely positions count as abnormal; masks unused
                      (CutPaste pseudo anomalies, since copy-paste needs the masks)
    no pseudo         pseudo=none: pixel-level with the ten labelled holes only

Writes benchmarks/results/toy_bgad.{md,csv} with the command, machine, seeds and date. Rows of the CSV for variants
and seeds that are not run again are kept (so one variant can be re-measured), and the Markdown says which commands
produced the rows.

    python benchmarks/toy_bgad.py --seeds 0 1 2
    python benchmarks/toy_bgad.py --seeds 0 1 2 --variants image-level
"""
import argparse, csv, shlex, sys, time
from pathlib import Path

import torch

from ossad.core import machine_info, describe_machine
from ossad.runs import RunSpec, train_run

VARIANTS = {"phase 1 only": {"ml_epochs": "8"}, "pixel-level": {}, "image-level": {"supervision": "image"}, "no pseudo": {"pseudo": "none"}}
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
args = ap.parse_args()

out = Path(__file__).resolve().parent / "results"; out.mkdir(exist_ok=True)
command = "python benchmarks/toy_bgad.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
rows, classes = [], ["scratch", "spot", "stain"]
for seed in args.seeds:
    for name in args.variants:
        spec = RunSpec(method="bgad", dataset="toy", setting="hard", known_class="hole", shots=10, seed=seed, settings=dict(VARIANTS[name]))
        t0 = time.time()
        m, _ = train_run(spec, out=Path("runs/toy_bgad") / f"{name.replace(' ', '_')}-seed{seed}", overwrite=True, progress=False, figures=False, command=command)
        rows.append(dict(variant=name, seed=seed, auroc=m["auroc"], pixel_auroc=m["pixel_auroc"], pro=m["pro"],
                         **{f"auroc_{c}": m["per_class_auroc"][c] for c in classes}, train_seconds=m["train_seconds"],
                         command=command, date=time.strftime("%Y-%m-%d")))
        print(f"{name:>14} seed {seed}: AUROC {m['auroc']:.4f} pixel {m['pixel_auroc']:.4f} PRO {m['pro']:.4f} {time.time() - t0:.0f}s", flush=True)

old = list(csv.DictReader(open(out / "toy_bgad.csv"))) if (out / "toy_bgad.csv").exists() else []   # read now: another run may have finished meanwhile
done = {(r["variant"], r["seed"]) for r in rows}
kept = [dict(r, seed=int(r["seed"]), **{k: float(r[k]) for k in r if k not in ("variant", "seed", "command", "date")}) for r in old
        if (r["variant"], int(r["seed"])) not in done]
rows = sorted(kept + rows, key=lambda r: (list(VARIANTS).index(r["variant"]), r["seed"]))
with open(out / "toy_bgad.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
def ms(vals):
    m = sum(vals) / len(vals); sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f}"
cols = [("auroc", "image AUROC"), ("pixel_auroc", "pixel AUROC"), ("pro", "PRO")] + [(f"auroc_{c}", f"AUROC {c}") for c in classes]
lines = ["# Toy set, hard setting (`hole` labelled): BGAD's phases and supervision", "",
         "Produced by " + "; ".join(f"`{c}` ({d})" for c, d in dict.fromkeys((r["command"], r["date"]) for r in rows)) + ".", "",
         f"- machine: {describe_machine(machine_info('cpu'))}",
         f"- seeds: {sorted(set(r['seed'] for r in rows))} (each seeds the split, the initial weights, the pseudo-anomaly pool and the training order); teaching preset, final weights", "",
         "| mean ± std over seeds | " + " | ".join(n for _, n in cols) + " | train s |", "|---" * (len(cols) + 2) + "|"]
for name in [v for v in VARIANTS if any(r["variant"] == v for r in rows)]:
    rs = [r for r in rows if r["variant"] == name]
    lines.append(f"| {name} | " + " | ".join(ms([r[k] for r in rs]) for k, _ in cols) + f" | {sum(r['train_seconds'] for r in rs) / len(rs):.0f} |")
lines += ["", "The AUROC of a class is its anomalies against the normal test images; none of the three was labelled in training. One row per run in toy_bgad.csv."]
(out / "toy_bgad.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

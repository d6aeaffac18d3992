"""Benchmark: detectors on ELPV under the DRA paper's settings, over seeds, with the same backbone, resolution and schedule.

Settings: general 1 and 10 shots, hard 10 shots with known class mono and with known class poly, and (on request) anomaly-free.
Every run trains from scratch with the method's teaching preset (or --preset paper on a GPU) and is evaluated once
with its final weights. After every run the tables are rewritten, so an interrupted benchmark keeps what it measured:

    benchmarks/results/<name>.csv   one row per run
    benchmarks/results/<name>.md    mean ± std over the seeds done, with the command, machine and seeds

    python benchmarks/elpv_methods.py --methods devnet dra --seeds 0 1 2 --name elpv_devnet_dra
    python benchmarks/elpv_methods.py --methods saliencycut --settings general-1 general-10 hard-10-mono hard-10-poly anomaly-free --name elpv_saliencycut
    python benchmarks/elpv_methods.py --methods dra@cutpaste dra@cutmix dra@scar dra@cpmix dra@saliencycut --settings hard-10-mono hard-10-poly --name elpv_dra_pseudo
    python benchmarks/elpv_methods.py --methods devnet dra saliencycut --backbone efficientnet_lite0 --weights imagenet --set image_size=128 --name elpv_pretrained

--resume keeps the rows already in the CSV and runs only the missing (method, setting, seed) combinations.
"""
import argparse, csv, json, math, shlex, sys, time
from pathlib import Path

import torch

from ossad.core import machine_info, describe_machine
from ossad.data import load_elpv
from ossad.learner import Learner
from ossad.protocols import make_split
from ossad.runs import get_method, make_config, build_detector, parse_sets

from elpv_settings import SETTINGS, DEFAULT_SETTINGS   # shared with the other ELPV benchmark scripts

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--methods", nargs="+", default=["devnet", "dra"], help="method names, or method:variant / method@pseudo (e.g. dra:dra2a, dra@scar)")
ap.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS, choices=list(SETTINGS), help="anomaly-free runs only the methods that train without anomalies")
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--preset", default="teaching", choices=["teaching", "paper"])
ap.add_argument("--backbone", default=None, help="backbone for every method (resnet18, efficientnet_lite0; default: each method's)")
ap.add_argument("--weights", default=None, help="backbone weights for every method (none, imagenet, or a file)")
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for every method, as `ossad train --set` (repeatable), e.g. --set image_size=128")
ap.add_argument("--device", default=None)
ap.add_argument("--name", default="elpv_methods")
ap.add_argument("--tables-only", action="store_true", help="rebuild the Markdown tables from an existing CSV (same other arguments) without training")
ap.add_argument("--resume", action="store_true", help="keep the rows of an existing CSV and run only the (method, setting, seed) runs it lacks")
ap.add_argument("--note", action="append", default=[], help="a line of context to add under the tables (e.g. what shared the machine)")
args = ap.parse_args()

out_dir = Path(__file__).resolve().parent / "results"; out_dir.mkdir(exist_ok=True)
def _command(argv):
    keep, skip = [], False
    for a in argv:   # the training command, without the table-rebuilding options
        if skip: skip = False; continue
        if a in ("--tables-only", "--resume"): continue
        if a == "--note": skip = True; continue
        keep.append(a)
    return "python benchmarks/elpv_methods.py " + " ".join(shlex.quote(a) for a in keep)
command = _command(sys.argv[1:])

device = torch.device(args.device) if args.device else (torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))
machine = describe_machine(machine_info(device))

def build(spec):
    "method[:variant][@pseudo] -> (method name, config): the preset with the spec's variant, pseudo-anomaly source and --weights (ossad.runs, as the CLI)"
    name, pseudo = (spec.split("@") + [None])[:2]
    name, variant = (name.split(":") + [None])[:2]
    return name, make_config(name, args.preset, {"backbone": args.backbone, "weights": args.weights, "variant": variant, "pseudo": pseudo, **parse_sets(args.set)})

def runnable(spec, sname):
    "Methods that need labelled anomalies cannot run the anomaly-free setting."
    return SETTINGS[sname]["shots"] > 0 or not get_method(build(spec)[0]).detector.needs_anomalies

rows_path, md_path = out_dir / f"{args.name}.csv", out_dir / f"{args.name}.md"
fields = ["method", "setting", "seed", "auroc", "auprc", "unseen_auroc", "per_class_auroc", "train_seconds", "train_images_per_second", "eval_images_per_second"]
rows = []

def fmt(vals, digits=3):
    vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals: return "–"
    m = sum(vals) / len(vals)
    sd = (sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
    return (f"{m:.{digits}f} ± {sd:.{digits}f}" if len(vals) > 1 else f"{m:.{digits}f}") + f" (n={len(vals)})"

def backbones_and_weights() -> str:
    "What each method of the run was built on, read from its config (with --backbone, --weights and --set applied)."
    out = []
    for spec in args.methods:
        cfg = build(spec)[1].model
        out.append(f"{spec} {getattr(cfg, 'backbone', '?')} ({getattr(cfg, 'weights', None) or 'from scratch'})")
    return ", ".join(dict.fromkeys(out))

def write_tables(done: bool):
    with open(rows_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields); w.writeheader()
        for r in rows: w.writerow({k: (json.dumps(r[k]) if isinstance(r[k], dict) else r[k]) for k in fields})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [f"# ELPV: {', '.join(methods)}", "",
             f"Produced by `{command}`" + ("" if done else " (**partial**: the run was still going or was interrupted; rows so far)") + ".", "",
             f"- machine: {machine}", f"- seeds: {sorted(set(r['seed'] for r in rows))} (each seeds the split, the initial weights and the training order)",
             f"- preset: {args.preset}; backbone and weights: {backbones_and_weights()}"
             + (f"; settings: {' '.join(args.set)}" if args.set else "") + "; one evaluation with the final weights",
             f"- date: {time.strftime('%Y-%m-%d')}", ""]
    for title, key, digits in (("AUROC", "auroc", 3), ("AUPRC", "auprc", 3), ("AUROC on the unseen class (hard setting)", "unseen_auroc", 3),
                               ("Training time, seconds", "train_seconds", 0), ("Training images per second", "train_images_per_second", 1),
                               ("Evaluation images per second", "eval_images_per_second", 1)):
        sets = [s for s in args.settings if key != "unseen_auroc" or s.startswith("hard")]
        if not sets: continue
        lines += [f"## {title} (mean ± std over seeds)", "", "| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
        for m in methods:
            cells = [fmt([r[key] for r in rows if r["method"] == m and r["setting"] == s], digits) for s in sets]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"{len(rows)} runs; n in each cell is the number of seeds behind it; – means not run (or, for anomaly-free, a method that needs labelled anomalies); one row per run in {rows_path.name}.")
    lines += [""] + [f"Note: {n}" for n in args.note]
    md_path.write_text("\n".join(lines) + "\n")

def read_rows():
    if not rows_path.exists(): sys.exit(f"--tables-only/--resume: {rows_path} does not exist; run the benchmark without them first")
    with open(rows_path) as f:
        for r in csv.DictReader(f):
            num = lambda v: None if v in ("", "None") else float(v)
            rows.append(dict(r, seed=int(r["seed"]), auroc=num(r["auroc"]), auprc=num(r["auprc"]), unseen_auroc=num(r["unseen_auroc"]),
                             per_class_auroc=json.loads(r["per_class_auroc"]), train_seconds=num(r["train_seconds"]),
                             train_images_per_second=num(r["train_images_per_second"]), eval_images_per_second=num(r["eval_images_per_second"])))

if args.tables_only or args.resume: read_rows()
if args.tables_only and md_path.exists():   # the machine that ran the benchmark, not the one rebuilding its tables
    machine = next((l[len("- machine: "):] for l in md_path.read_text().splitlines() if l.startswith("- machine: ")), machine)
if args.tables_only:
    expected = {(m, st, sd) for m in args.methods for st in args.settings for sd in args.seeds if runnable(m, st)}
    write_tables(done={(r["method"], r["setting"], r["seed"]) for r in rows} >= expected)
    print(md_path.read_text()); sys.exit(0)

data = load_elpv()
data.tensors(build(args.methods[0])[1].train.image_size, progress=False)   # decode once; every split shares the cache
for seed in args.seeds:
    for sname in args.settings:
        split = make_split(data, seed=seed, **SETTINGS[sname])
        for spec in args.methods:
            label, (name, cfg) = spec, build(spec)
            if any((r["method"], r["setting"], r["seed"]) == (label, sname, seed) for r in rows): continue   # --resume: already measured
            if not runnable(spec, sname): continue
            learn = Learner(build_detector(name, cfg, seed), split, cfg, seed=seed, device=device, progress=False)
            learn.fit()
            m = learn.evaluate()
            unseen = split.record["unseen_classes"] if SETTINGS[sname]["setting"] == "hard" else []
            rows.append(dict(method=label, setting=sname, seed=seed, auroc=m["auroc"], auprc=m["auprc"],
                             unseen_auroc=m["per_class_auroc"][unseen[0]] if unseen else None, per_class_auroc=m["per_class_auroc"],
                             train_seconds=m["train_seconds"], train_images_per_second=m["train_images_per_second"],
                             eval_images_per_second=m["eval_images_per_second"]))
            print(f"{label:>14} {sname:>13} seed {seed}: AUROC {m['auroc']:.4f} AUPRC {m['auprc']:.4f} {m['per_class_auroc']} "
                  f"train {m['train_seconds']:.0f}s", flush=True)
            write_tables(done=False)
write_tables(done=True)
print(md_path.read_text())

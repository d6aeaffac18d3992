"""Benchmark: detectors on ELPV under the DRA paper's settings, over seeds, each with its preset (backbone, resolution, schedule) unless told otherwise.

Settings: general 1 and 10 shots, hard 10 shots with known class mono and with known class poly, and (on request) anomaly-free.
Every run trains from scratch with the method's teaching preset (or --preset paper on a GPU) and is evaluated once
with its final weights. After every run the tables are rewritten, so an interrupted benchmark keeps what it measured:

    benchmarks/results/<name>.csv   one row per run
    benchmarks/results/<name>.md    mean ± std over the seeds done, with the command, machine and seeds

    python benchmarks/elpv_methods.py --methods devnet dra --seeds 0 1 2 --name elpv_devnet_dra
    python benchmarks/elpv_methods.py --methods saliencycut --settings general-1 general-10 hard-10-mono hard-10-poly anomaly-free --name elpv_saliencycut
    python benchmarks/elpv_methods.py --methods dra@cutpaste dra@cutmix dra@scar dra@cpmix dra@saliencycut --settings hard-10-mono hard-10-poly --name elpv_dra_pseudo
    python benchmarks/elpv_methods.py --methods devnet dra saliencycut --backbone efficientnet_lite0 --weights imagenet --set image_size=128 --name elpv_pretrained
    python benchmarks/elpv_methods.py --methods devnet --intensity standardized --name elpv_standardized

--intensity standardized runs the robustness panel: every image standardised on its own (ossad.data.standardized), so
mean brightness, the darkness shortcut, is taken away. Each run also records the 95% bootstrap interval of its AUROC
(test images resampled 1,000 times, normals and anomalies separately; ossad.metrics.auroc_ci): the spread a single
run's number has from the finite test set alone, beside the spread over seeds.

The AUROC and AUPRC tables also show the two bars every method is read against, on the same splits (seeds): the darkness
score and the kNN on ImageNet features, read from their own benchmarks' CSVs (elpv_brightness_baseline.py, elpv_knn.py,
and their --intensity standardized runs); a baseline without results there is left out.

--resume keeps the rows already in the CSV and runs only the missing (method, setting, seed) combinations.

Parallel runs. Each run is independent, so --workers N trains N runs at once, each in its own process with
cores // N PyTorch threads (--threads to choose). On a 2-core CPU two 1-thread workers finish a sweep sooner than one
2-thread process, because a small network's step does not keep two threads busy (measured: see the note under the
tables of elpv_workers_2x1 and elpv_workers_1x2):

    python benchmarks/elpv_methods.py --methods devnet dra --workers 2 --name elpv_devnet_dra

Beyond one machine, use the scheduler you already have rather than ours: every (seed, setting, method) is a
separate command, so a Slurm job array (one task per seed) or a Ray/Dask map over the same list does it. Each
task writes its own table, then one command merges them:

    # sbatch --array=0-2 --wrap 'python benchmarks/elpv_methods.py --seeds $SLURM_ARRAY_TASK_ID --name elpv_part$SLURM_ARRAY_TASK_ID'
    python benchmarks/elpv_methods.py --seeds 0 1 2 --tables-only --merge benchmarks/results/elpv_part*.csv --name elpv_all
"""
import argparse, csv, json, math, multiprocessing, os, shlex, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

from ossad.core import machine_info, describe_machine
from ossad.data import load_elpv, standardized
from ossad.metrics import auroc_ci
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
ap.add_argument("--intensity", default="as-loaded", choices=["as-loaded", "standardized"], help="standardized: every image standardised on its own, brightness taken away (the robustness panel)")
ap.add_argument("--device", default=None)
ap.add_argument("--workers", type=int, default=1, help="runs trained at once, each in its own process (default 1: one after another)")
ap.add_argument("--threads", type=int, default=None, help="PyTorch threads per worker (default: all cores with one worker, else cores // workers)")
ap.add_argument("--name", default="elpv_methods")
ap.add_argument("--tables-only", action="store_true", help="rebuild the Markdown tables from an existing CSV (same other arguments) without training")
ap.add_argument("--resume", action="store_true", help="keep the rows of an existing CSV and run only the (method, setting, seed) runs it lacks")
ap.add_argument("--merge", nargs="+", default=[], metavar="CSV", help="with --tables-only: build the tables from the rows of these CSVs (e.g. one per job-array task)")
ap.add_argument("--note", action="append", default=[], help="a line of context to add under the tables (e.g. what shared the machine)")
out_dir = Path(__file__).resolve().parent / "results"
def _command(argv):
    keep, skip = [], None   # skip: "one" (the option's value) or "many" (values up to the next option)
    for a in argv:   # the training command, without the table-rebuilding options
        if skip == "one": skip = None; continue
        if skip == "many" and not a.startswith("--"): continue
        skip = None
        if a in ("--tables-only", "--resume"): continue
        if a == "--note": skip = "one"; continue
        if a == "--merge": skip = "many"; continue
        keep.append(a)
    return "python benchmarks/elpv_methods.py " + " ".join(shlex.quote(a) for a in keep)

def get_device(a):
    return torch.device(a.device) if a.device else (torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))

def build(spec):
    "method[:variant][@pseudo] -> (method name, config): the preset with the spec's variant, pseudo-anomaly source and --weights (ossad.runs, as the CLI)"
    name, pseudo = (spec.split("@") + [None])[:2]
    name, variant = (name.split(":") + [None])[:2]
    return name, make_config(name, args.preset, {"backbone": args.backbone, "weights": args.weights, "variant": variant, "pseudo": pseudo, **parse_sets(args.set)})

def runnable(spec, sname):
    "Methods that need labelled anomalies (with these settings: the kNN needs them only with anomaly_weight > 0) cannot run the anomaly-free setting."
    name, cfg = build(spec)
    return SETTINGS[sname]["shots"] > 0 or not get_method(name).detector.needs_anomalies_for(cfg)

fields = ["method", "setting", "seed", "auroc", "auroc_ci_low", "auroc_ci_high", "auprc", "unseen_auroc", "per_class_auroc", "train_seconds", "train_images_per_second", "eval_images_per_second"]
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
        cfg = build(spec)[1]
        out.append(f"{spec} {getattr(cfg.model, 'backbone', '?')} ({getattr(cfg.model, 'weights', None) or 'from scratch'}) at {cfg.train.image_size} px")
    return ", ".join(dict.fromkeys(out))

def write_tables(done: bool):
    with open(rows_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields); w.writeheader()
        for r in rows: w.writerow({k: (json.dumps(r[k]) if isinstance(r[k], dict) else r[k]) for k in fields})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    seeds = {s: {r["seed"] for r in rows if r["setting"] == s} for s in args.settings}   # per setting: the splits a baseline is read on
    shown = {}                                                                      # baseline label -> the CSVs it was read from, for the footnote
    lines = [f"# ELPV: {', '.join(methods)}", "",
             f"Produced by `{command}`" + ("" if done else " (**partial**: the run was still going or was interrupted; rows so far)") + ".", "",
             f"- machine: {machine}", f"- seeds: {sorted(set(r['seed'] for r in rows))} (each seeds the split, the initial weights and the training order)",
             f"- preset: {args.preset}; backbone, weights and image size: {backbones_and_weights()}"
             + (f"; settings: {' '.join(args.set)}" if args.set else "") + "; one evaluation with the final weights",
             "- images: " + ("each standardised on its own (mean 128, std 40): brightness taken away" if args.intensity == "standardized" else "as loaded"),
             f"- date: {run_date}", ""]
    for title, key, digits in (("AUROC", "auroc", 3), ("AUPRC", "auprc", 3), ("AUROC on the unseen class (hard setting)", "unseen_auroc", 3),
                               ("Training time, seconds", "train_seconds", 0), ("Training images per second", "train_images_per_second", 1),
                               ("Evaluation images per second", "eval_images_per_second", 1)):
        sets = [s for s in args.settings if key != "unseen_auroc" or s.startswith("hard")]
        if not sets: continue
        lines += [f"## {title} (mean ± std over seeds)", "", "| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
        for m in methods:
            cells = [fmt([r[key] for r in rows if r["method"] == m and r["setting"] == s], digits) for s in sets]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        if key in ("auroc", "auprc", "unseen_auroc"):   # the bars every method is read against, on the same splits (seeds)
            for label, found in baselines():
                used = {s: [found[s, sd] for sd in sorted(seeds[s]) if (s, sd) in found] for s in sets}
                cells = [fmt([row[key] for _, row in used[s]], digits) for s in sets]
                if any(c != "–" for c in cells):
                    lines.append(f"| *{label}* | " + " | ".join(cells) + " |")
                    shown.setdefault(label, set()).update(name for s in sets for name, _ in used[s])
        lines.append("")
    sets = [s for s in args.settings if any(r["setting"] == s and r.get("auroc_ci_low") is not None for r in rows)]
    if sets:
        lines += ["## AUROC, 95% bootstrap interval of each run (seeds in order)", "",
                  "What the finite test set alone leaves uncertain: 1,000 resamples of the test images, normals and anomalies separately.", "",
                  "| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
        for m in methods:
            cells = ["; ".join(f"{r['auroc_ci_low']:.2f}–{r['auroc_ci_high']:.2f}" for r in sorted(rows, key=lambda r: r["seed"])
                               if r["method"] == m and r["setting"] == s and r.get("auroc_ci_low") is not None) or "–" for s in sets]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"{len(rows)} runs; n in each cell is the number of seeds behind it; – means not run (or, for anomaly-free, a method that needs labelled anomalies); one row per run in {rows_path.name}.")
    if shown:
        lines += ["", "Rows in italics are baselines on the same splits (in each setting, the seeds the methods ran; a smaller n means the baseline "
                  "lacks some of them), from their own benchmarks: " + "; ".join(f"{label} from {', '.join(sorted(n + '.csv' for n in names))}" for label, names in shown.items()) + "."]
    lines += [""] + [f"Note: {n}" for n in args.note]
    md_path.write_text("\n".join(lines) + "\n")

BASELINES = {   # intensity -> {label: the CSVs of the baseline's own benchmarks (elpv_brightness_baseline.py, elpv_knn.py), first one first}
    "as-loaded": {"darkness (no training)": ["elpv_brightness_baseline", "elpv_brightness_one_class", "elpv_brightness_seeds3_9"],
                  "kNN, ImageNet features (no labels)": ["elpv_knn", "elpv_knn_one_class"]},
    "standardized": {"darkness (no training)": ["elpv_brightness_standardized"], "kNN, ImageNet features (no labels)": ["elpv_knn_standardized"]}}

def baselines():
    "[(label, {(setting, seed): (CSV name, row)})] of the baselines with results for this table's images; a (setting, seed) found in two CSVs counts once."
    num = lambda v: None if v in ("", "None") else float(v)
    out = []
    for label, names in BASELINES[args.intensity].items():
        found = {}
        for name in names:
            path = out_dir / f"{name}.csv"
            if not path.exists(): continue
            with open(path) as f:
                for r in csv.DictReader(f):
                    found.setdefault((r["setting"], int(r["seed"])), (name, dict(auroc=num(r["auroc"]), auprc=num(r["auprc"]), unseen_auroc=num(r.get("unseen_auroc", "")))))
        if found: out.append((label, found))
    return out

def read_rows(path=None):
    path = path or rows_path
    if not path.exists(): sys.exit(f"--tables-only/--resume: {path} does not exist; run the benchmark without them first")
    with open(path) as f:
        for r in csv.DictReader(f):
            num = lambda v: None if v in ("", "None") else float(v)
            rows.append(dict(r, seed=int(r["seed"]), auroc=num(r["auroc"]), auprc=num(r["auprc"]),
                             auroc_ci_low=num(r.get("auroc_ci_low", "")), auroc_ci_high=num(r.get("auroc_ci_high", "")), unseen_auroc=num(r["unseen_auroc"]),
                             per_class_auroc=json.loads(r["per_class_auroc"]), train_seconds=num(r["train_seconds"]),
                             train_images_per_second=num(r["train_images_per_second"]), eval_images_per_second=num(r["eval_images_per_second"])))

DATA = None

def init_worker(a, threads):
    "In a worker process: the benchmark's arguments and its number of PyTorch threads."
    global args
    args = a
    if threads: torch.set_num_threads(threads)

def run_one(job):
    "Train and evaluate one (seed, setting, method) run; return its row."
    global DATA
    seed, sname, spec = job
    name, cfg = build(spec)
    if DATA is None:
        DATA = load_elpv() if args.intensity == "as-loaded" else standardized(load_elpv())
        DATA.tensors(cfg.train.image_size, progress=False)   # decode once per process; every split shares the cache
    split = make_split(DATA, seed=seed, **SETTINGS[sname])
    learn = Learner(build_detector(name, cfg, seed), split, cfg, seed=seed, device=get_device(args), progress=False)
    learn.fit()
    m = learn.evaluate()
    lo, hi = auroc_ci(split.test.labels, learn.last_scores, n_boot=1000, seed=seed)
    unseen = split.record["unseen_classes"] if SETTINGS[sname]["setting"] == "hard" else []
    return dict(method=spec, setting=sname, seed=seed, auroc=m["auroc"], auroc_ci_low=lo, auroc_ci_high=hi, auprc=m["auprc"],
                unseen_auroc=m["per_class_auroc"][unseen[0]] if unseen else None, per_class_auroc=m["per_class_auroc"],
                train_seconds=m["train_seconds"], train_images_per_second=m["train_images_per_second"],
                eval_images_per_second=m["eval_images_per_second"])

def report(row):
    rows.append(row)
    order = {(sd, st, m): i for i, (sd, st, m) in enumerate((sd, st, m) for sd in args.seeds for st in args.settings for m in args.methods)}
    rows.sort(key=lambda r: order.get((r["seed"], r["setting"], r["method"]), -1))   # the CSV in the sweep's order, however the workers finish
    print(f"{row['method']:>14} {row['setting']:>13} seed {row['seed']}: AUROC {row['auroc']:.4f} AUPRC {row['auprc']:.4f} {row['per_class_auroc']} "
          f"train {row['train_seconds']:.0f}s", flush=True)
    write_tables(done=False)

if __name__ == "__main__":
    args = ap.parse_args()
    if args.workers < 1 or (args.threads is not None and args.threads < 1): sys.exit("--workers and --threads must be at least 1")
    threads = args.threads or (None if args.workers == 1 else max(1, (os.cpu_count() or 1) // args.workers))
    init_worker(args, threads)
    out_dir.mkdir(exist_ok=True)
    command = _command(sys.argv[1:])
    machine = describe_machine(machine_info(get_device(args)))
    run_date = time.strftime('%Y-%m-%d')
    rows_path, md_path = out_dir / f"{args.name}.csv", out_dir / f"{args.name}.md"
    rows = []
    if args.merge and not args.tables_only: sys.exit("--merge builds tables from existing CSVs: use it with --tables-only")
    if args.merge:
        for p in args.merge: read_rows(Path(p))
        seen = set()                              # a run found in two files counts once
        rows[:] = [r for r in rows if (k := (r["method"], r["setting"], r["seed"])) not in seen and not seen.add(k)]
    elif args.tables_only or args.resume: read_rows()
    if (args.tables_only or args.resume) and md_path.exists():   # keep the notes written under the old tables
        old = [l[len("Note: "):] for l in md_path.read_text().splitlines() if l.startswith("Note: ")]
        args.note[:0] = [n for n in old if n not in args.note]
    first_md = Path(args.merge[0]).with_suffix(".md") if args.merge else md_path
    if args.tables_only and first_md.exists():   # the machine that ran the benchmark and its date, not the rebuild's
        old = first_md.read_text().splitlines()
        machine = next((l[len("- machine: "):] for l in old if l.startswith("- machine: ")), machine)
        run_date = next((l[len("- date: "):] for l in old if l.startswith("- date: ")), run_date)
    if args.tables_only:
        expected = {(m, st, sd) for m in args.methods for st in args.settings for sd in args.seeds if runnable(m, st)}
        write_tables(done={(r["method"], r["setting"], r["seed"]) for r in rows} >= expected)
        print(md_path.read_text()); sys.exit(0)
    if args.workers > 1: machine += f"; {args.workers} runs at a time, {threads} thread(s) each"
    done = {(r["method"], r["setting"], r["seed"]) for r in rows}          # --resume: already measured
    jobs = [(seed, sname, spec) for seed in args.seeds for sname in args.settings for spec in args.methods
            if (spec, sname, seed) not in done and runnable(spec, sname)]
    t0 = time.perf_counter()
    if args.workers == 1:
        for job in jobs: report(run_one(job))
    else:                                        # separate processes (spawned: no PyTorch thread pool crosses a fork)
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker, initargs=(args, threads)) as pool:
            futures = [pool.submit(run_one, job) for job in jobs]
            try:
                for fut in as_completed(futures): report(fut.result())
            except BaseException:                # a failed run (or Ctrl-C): cancel what has not started, keep the rows so far
                pool.shutdown(wait=False, cancel_futures=True); raise
    wall = time.perf_counter() - t0
    args.note.append(f"{len(jobs)} runs trained in {wall:.0f} s of wall-clock time ({args.workers} at a time"
                     + (f", {threads} thread(s) each)" if threads else ")"))
    write_tables(done=True)
    print(md_path.read_text())

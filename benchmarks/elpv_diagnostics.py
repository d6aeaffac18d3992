"""Diagnostics of trained detectors on ELPV: what each head contributes, how much of the ranking is brightness, how sure an AUROC is.

For every (method, setting, seed) it trains the method's teaching preset exactly as benchmarks/elpv_methods.py does (same
splits, seeds and schedule; one evaluation with the final weights) and records, on the test set:
- the AUROC with its 95% percentile-bootstrap interval over test images (ossad.metrics.auroc_ci, 1,000 resamples);
- Spearman's rank correlation between the scores and each cell's mean intensity (-1: ranks exactly by darkness);
- for methods with several heads (DRA, SaliencyCut; `head_scores`), each head's signed contribution to the score
  (a head that is subtracted, DRA's normality head and SaliencyCut's normal head, enters with a minus sign): its AUROC,
  its rank correlation with mean intensity, and its mean and standard deviation over the test images, which say
  which head dominates the sum.
Writes benchmarks/results/<name>.{csv,md} with the command, machine, seeds and date; rows are added as runs finish.

    python benchmarks/elpv_diagnostics.py --methods dra --settings general-1 general-10 --seeds 0 1 2 --name elpv_dra_heads
"""
import argparse, csv, json, shlex, sys, time
from pathlib import Path

import torch

from ossad.core import machine_info, describe_machine
from ossad.data import load_elpv, mean_intensity
from ossad.learner import Learner
from ossad.metrics import auroc, auroc_ci, rank_correlation
from ossad.protocols import make_split
from ossad.runs import make_config, build_detector, parse_sets

from elpv_settings import SETTINGS

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--methods", nargs="+", default=["dra"])
ap.add_argument("--settings", nargs="+", default=["general-1", "general-10"], choices=list(SETTINGS))
ap.add_argument("--seeds", nargs="+", type=int, default=[0])
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for every method, as `ossad train --set` (repeatable)")
ap.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: PyTorch's choice)")
ap.add_argument("--resume", action="store_true", help="keep the rows of an existing CSV and run only the missing (method, setting, seed) runs")
ap.add_argument("--name", default="elpv_diagnostics")
ap.add_argument("--note", action="append", default=[], help="a line of context to add under the tables")
out_dir = Path(__file__).resolve().parent / "results"
FIELDS = ["method", "setting", "seed", "auroc", "ci_low", "ci_high", "rank_corr_intensity", "heads", "train_seconds"]

def head_contributions(learn: Learner, test) -> dict[str, torch.Tensor]:
    "Each head's signed contribution to the anomaly score (`head_scores` through `Learner.predict`: eval mode, the learner's precision and memory format)."
    return {k: (-1 if k == "normal" else 1) * v for k, v in learn.predict(test, fn="head_scores").items()}

def run(method: str, sname: str, seed: int, data) -> dict:
    cfg = make_config(method, "teaching", parse_sets(args.set))
    split = make_split(data, seed=seed, **SETTINGS[sname])
    learn = Learner(build_detector(method, cfg, seed), split, cfg, seed=seed, progress=False)
    learn.fit()
    m = learn.evaluate()
    y, s = split.test.labels, learn.last_scores
    bright = mean_intensity(split.test, cfg.train.image_size)
    lo, hi = auroc_ci(y, s)
    heads = {}
    if hasattr(learn.model, "head_scores"):
        parts = head_contributions(learn, split.test)
        total = sum(parts.values())
        assert torch.allclose(total, s, atol=1e-3 * (1 + s.abs().max().item())), "the heads' contributions do not add up to the score"
        heads = {k: dict(auroc=auroc(y, v), rank_corr_intensity=rank_correlation(v, bright), mean=v.mean().item(), std=v.std().item(),
                         mean_normal=v[y == 0].mean().item(), mean_anomalous=v[y == 1].mean().item()) for k, v in parts.items()}
    return dict(method=method, setting=sname, seed=seed, auroc=m["auroc"], ci_low=lo, ci_high=hi,
                rank_corr_intensity=rank_correlation(s, bright), heads=heads, train_seconds=m["train_seconds"])

def write(rows, command, machine, done):
    with open(out_dir / f"{args.name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS); w.writeheader()
        for r in rows: w.writerow({k: json.dumps(r[k]) if k == "heads" else r[k] for k in FIELDS})
    L = [f"# ELPV diagnostics: {', '.join(dict.fromkeys(r['method'] for r in rows))}", "",
         f"Produced by `{command}`" + ("" if done else " (**partial**: rows so far)") + ".", "",
         f"- machine: {machine}", f"- seeds: {sorted({r['seed'] for r in rows})}; teaching preset, from scratch, as benchmarks/elpv_methods.py" + (f" with {' '.join(args.set)}" if args.set else "") + "; one evaluation with the final weights",
         f"- date: {time.strftime('%Y-%m-%d')}", "",
         "## Each run", "", "AUROC with its 95% bootstrap interval over the test images (1,000 resamples, seed 0) and the rank correlation of the scores with the cells' mean intensity.", "",
         "| method | setting | seed | AUROC | 95% interval | rank correlation with mean intensity |", "|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['method']} | {r['setting']} | {r['seed']} | {r['auroc']:.3f} | {r['ci_low']:.3f}–{r['ci_high']:.3f} | {r['rank_corr_intensity']:+.2f} |")
    with_heads = [r for r in rows if r["heads"]]
    if with_heads:
        L += ["", "## Each head", "", "Each head's signed contribution to the score (subtracted heads with a minus sign): its AUROC, its rank correlation with mean intensity, and its mean over normal and over anomalous test images with its standard deviation over all of them.", "",
              "| method | setting | seed | head | AUROC | rank corr. with intensity | mean, normal | mean, anomalous | std |", "|---|---|---|---|---|---|---|---|---|"]
        for r in with_heads:
            for k, h in r["heads"].items():
                L.append(f"| {r['method']} | {r['setting']} | {r['seed']} | {k} | {h['auroc']:.3f} | {h['rank_corr_intensity']:+.2f} | {h['mean_normal']:.2f} | {h['mean_anomalous']:.2f} | {h['std']:.2f} |")
    L += [""] + [f"Note: {n}" for n in args.note]
    (out_dir / f"{args.name}.md").write_text("\n".join(L) + "\n")

if __name__ == "__main__":
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    out_dir.mkdir(exist_ok=True)
    command = "python benchmarks/elpv_diagnostics.py " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "--resume")
    machine = describe_machine(machine_info("cpu"))
    rows = []
    if args.resume and (out_dir / f"{args.name}.csv").exists():
        with open(out_dir / f"{args.name}.csv") as f:
            for r in csv.DictReader(f):
                rows.append(dict(r, seed=int(r["seed"]), auroc=float(r["auroc"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]),
                                 rank_corr_intensity=float(r["rank_corr_intensity"]), heads=json.loads(r["heads"]), train_seconds=float(r["train_seconds"])))
    done = {(r["method"], r["setting"], r["seed"]) for r in rows}
    data = load_elpv()
    jobs = [(m, st, sd) for sd in args.seeds for st in args.settings for m in args.methods if (m, st, sd) not in done]
    for i, (m, st, sd) in enumerate(jobs):
        if SETTINGS[st]["shots"] == 0: sys.exit(f"{st}: the diagnostics need a setting with labelled anomalies")
        r = run(m, st, sd, data); rows.append(r)
        print(f"{m:>12} {st:>12} seed {sd}: AUROC {r['auroc']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] rank corr {r['rank_corr_intensity']:+.2f} "
              + " ".join(f"{k}={h['auroc']:.3f}" for k, h in r["heads"].items()), flush=True)
        write(rows, command, machine, done=i == len(jobs) - 1)
    if not jobs: write(rows, command, machine, done=True)

"""Benchmark: the README's main job, DevNet on ELPV with the teaching preset, run twice.

Measures wall time of the whole command (data loading, training, evaluation), the test metrics, and whether
the second run reproduces the first (same split, AUROC equal to 1e-6). Writes
benchmarks/results/devnet_elpv_teaching.{md,json} with the command, machine and seed.

    python benchmarks/devnet_elpv_teaching.py [--seed 0] [--repeats 2]
"""
import argparse, json, shutil, subprocess, sys, tempfile, time
from pathlib import Path

from ossad.core import describe_machine

here = Path(__file__).resolve().parent
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--repeats", type=int, default=2)
args = ap.parse_args()

work = Path(tempfile.mkdtemp(prefix="ossad-bench-"))
cmd = ["ossad", "train", "--method", "devnet", "--dataset", "elpv", "--setting", "general", "--shots", "10",
       "--seed", str(args.seed), "--preset", "teaching", "--no-progress"]
runs = []
for r in range(args.repeats):
    out = work / f"run{r}"
    t = time.perf_counter()
    p = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0: sys.exit(f"run {r} failed:\n{p.stdout}\n{p.stderr}")
    print(p.stdout, flush=True)
    m = json.loads((out / "metrics.json").read_text()); c = json.loads((out / "config.json").read_text())
    runs.append(dict(wall_seconds=round(wall, 1), metrics=m, split=c["split"], environment=c["environment"]))

same_split = all(r["split"] == runs[0]["split"] for r in runs)
max_diff = max(abs(r["metrics"]["auroc"] - runs[0]["metrics"]["auroc"]) for r in runs)
machine = describe_machine(runs[0]["environment"])
m0 = runs[0]["metrics"]
result = dict(command=" ".join(cmd), seed=args.seed, machine=machine, date=time.strftime("%Y-%m-%d"),
              wall_seconds=[r["wall_seconds"] for r in runs], auroc=m0["auroc"], auprc=m0["auprc"],
              per_class_auroc=m0["per_class_auroc"], train_seconds=m0["train_seconds"], eval_images_per_second=m0["eval_images_per_second"],
              train_images_per_second=m0["train_images_per_second"], same_split=same_split, max_auroc_difference=max_diff)
(here / "results").mkdir(exist_ok=True)
(here / "results" / "devnet_elpv_teaching.json").write_text(json.dumps(result, indent=2) + "\n")
md = f"""# DevNet on ELPV, teaching preset

Produced by `python benchmarks/devnet_elpv_teaching.py --seed {args.seed} --repeats {args.repeats}` on {result['date']}.

- command: `{result['command']}`
- machine: {machine}
- seed: {args.seed} (split, initial weights and training order)

| metric | value |
|---|---|
| test AUROC | {m0['auroc']:.4f} |
| test AUPRC | {m0['auprc']:.4f} |
""" + "".join(f"| AUROC {c} vs normal | {v:.4f} |\n" for c, v in m0["per_class_auroc"].items()) + f"""| wall time of the whole command, per run | {', '.join(f'{w:.0f} s' for w in result['wall_seconds'])} |
| training time | {m0['train_seconds']:.0f} s ({m0['train_images_per_second']:.0f} images/s) |
| evaluation speed | {m0['eval_images_per_second']:.0f} images/s |
| same split in every run | {same_split} |
| largest AUROC difference between runs | {max_diff:.2e} |

ResNet-18 from scratch (no ImageNet weights offline), 96-pixel images, 10 × 20 steps of 32. Not comparable with the
papers' ImageNet-pretrained numbers (DevNet 0.846 in DRA's table 1), only with other methods trained the same way.
"""
(here / "results" / "devnet_elpv_teaching.md").write_text(md)
print(md)
shutil.rmtree(work)

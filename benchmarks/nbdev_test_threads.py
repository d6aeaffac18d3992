"""Benchmark: wall time of `nbdev_test` over all notebooks, with PyTorch's default threads and with one thread per worker.

`nbdev_test` runs the notebooks in parallel, one worker process per core (at most 8). Each worker's PyTorch starts
its own pool of one thread per core, so on a 2-core machine four busy threads share two cores. This script runs the
README's notebook test both ways, from the repository root, and writes benchmarks/results/nbdev_test_threads.md
with the command, machine and per-notebook times (nbdev's `--timing`). The notebooks are seeded; their own
assertions pass either way (a failing run is reported as such).

    python benchmarks/nbdev_test_threads.py [--settings default one]
"""
import argparse, os, platform, re, subprocess, time
from pathlib import Path

from ossad.core import describe_machine, machine_info

root = Path(__file__).resolve().parent.parent
SETTINGS = {"default": None, "one": "1"}          # value of OMP_NUM_THREADS (None: unset, PyTorch's default)
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
args = ap.parse_args()

rows = []
for name in args.settings:
    env = dict(os.environ); env.pop("OMP_NUM_THREADS", None)
    if SETTINGS[name]: env["OMP_NUM_THREADS"] = SETTINGS[name]
    cmd = ("OMP_NUM_THREADS=1 " if SETTINGS[name] else "") + "nbdev_test --timing"
    print(f"running: {cmd}", flush=True)
    t = time.perf_counter()
    p = subprocess.run(["nbdev_test", "--timing"], cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    per_nb = dict(re.findall(r"^(\S+\.ipynb): (\d+) secs$", p.stdout, flags=re.M))
    rows.append(dict(command=cmd, ok=p.returncode == 0, wall=wall, per_nb=per_nb))
    print(f"  {'passed' if p.returncode == 0 else 'FAILED'} in {wall:.0f} s", flush=True)
    if p.returncode != 0: print(p.stdout[-2000:], p.stderr[-4000:], sep="\n")

machine = describe_machine(machine_info())
notebooks = sorted({n for r in rows for n in r["per_nb"]}, key=lambda n: -max(int(r["per_nb"].get(n, 0)) for r in rows))
md = [f"# nbdev_test with default and single PyTorch threads\n",
      f"Produced by `python benchmarks/nbdev_test_threads.py --settings {' '.join(args.settings)}` on {time.strftime('%Y-%m-%d')}, "
      f"from the repository root with nothing else running.\n",
      f"- machine: {machine} (threads as seen by this script's own process)",
      f"- nbdev_test workers: min(cores, 8) = {min(os.cpu_count(), 8)}; Python {platform.python_version()}",
      "- seeds: fixed inside each notebook; the notebooks' own assertions decide pass/fail\n",
      "| command | result | wall time |", "|---|---|---|"]
md += [f"| `{r['command']}` | {'passed' if r['ok'] else 'FAILED'} | {r['wall']:.0f} s |" for r in rows]
md += ["", "Seconds per notebook (nbdev's `--timing`; notebooks run two at a time, so these overlap):", "",
       "| notebook | " + " | ".join(f"`{r['command']}`" for r in rows) + " |", "|---|" + "---|" * len(rows)]
md += [f"| {n} | " + " | ".join(r["per_nb"].get(n, "–") for r in rows) + " |" for n in notebooks]
out = root / "benchmarks" / "results" / "nbdev_test_threads.md"
tmp = out.with_suffix(".md.tmp"); tmp.write_text("\n".join(md) + "\n"); tmp.replace(out)
print(out.read_text())

"""Benchmark: wall time of whole notebooks, every cell run (the `slow` ones too), as a student runs them top to bottom.

Each notebook runs in a fresh process (execnb's CaptureShell, from the notebook's folder, like nbdev_test) with PyTorch's
default threads; the script stops at the first error and reports it. Writes benchmarks/results/notebook_times.md with
the command, machine, date and seconds per notebook. Run it with nothing else on the machine.

    python benchmarks/notebook_times.py nbs/00_tutorial.ipynb
"""
import argparse, subprocess, sys, time
from pathlib import Path

from ossad.core import describe_machine, machine_info

root = Path(__file__).resolve().parent.parent
RUN = r'''
import sys, time
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
nb, sh, t0 = read_nb(sys.argv[1]), CaptureShell(), time.perf_counter()
for c in nb.cells:
    if c.cell_type != "code" or "#| eval: false" in c.source: continue   # as nbdev_test: cells marked not to run are skipped
    sh.run(c.source)
    if sh.exc: print(f"error in cell {c.get('id')}: {sh.exc!r}"); sys.exit(1)
print(f"{time.perf_counter() - t0:.1f}")
'''
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("notebooks", nargs="+", help="notebook paths, relative to the repository root")
ap.add_argument("--limit", type=float, default=180.0, help="the target in seconds each notebook is checked against (default 180)")
args = ap.parse_args()

rows = []
for nb in args.notebooks:
    path = (root / nb).resolve()
    if not path.is_file(): sys.exit(f"no notebook at {nb}")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", RUN, path.name], cwd=path.parent, capture_output=True, text=True)
    wall = time.perf_counter() - t
    ok = p.returncode == 0
    rows.append(dict(nb=nb, ok=ok, wall=wall, cells=float(p.stdout.split()[-1]) if ok else None, err=None if ok else (p.stdout + p.stderr)[-300:]))
    print(f"{nb}: {'ran' if ok else 'FAILED'} in {wall:.0f} s", flush=True)

machine = describe_machine(machine_info())
md = ["# Whole-notebook run times\n",
      f"Produced by `python benchmarks/notebook_times.py {' '.join(args.notebooks)}` on {time.strftime('%Y-%m-%d')}, with nothing else running.\n",
      f"- machine: {machine}",
      "- every code cell run, `slow` ones included (those marked `#| eval: false` skipped, as nbdev_test does), in a fresh Python process from the notebook's folder; seeds fixed inside the notebooks",
      f"- target: {args.limit:.0f} s per notebook\n",
      "| notebook | result | wall time (process) | cells alone | within target |", "|---|---|---|---|---|"]
md += [f"| {r['nb']} | {'ran' if r['ok'] else 'FAILED: ' + r['err'].replace(chr(10), ' ')} | {r['wall']:.0f} s | "
       + (f"{r['cells']:.0f} s" if r["cells"] is not None else "–") + f" | {'yes' if r['ok'] and r['wall'] <= args.limit else 'no'} |" for r in rows]
out = root / "benchmarks" / "results" / "notebook_times.md"
tmp = out.with_suffix(".md.tmp"); tmp.write_text("\n".join(md) + "\n"); tmp.replace(out)
print(out.read_text())
sys.exit(0 if all(r["ok"] for r in rows) else 1)

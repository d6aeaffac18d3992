"""Check ossad as `pip install ossad` users get it: build, check, install the wheel clean, use it away from the repo.

    python tools/check_wheel.py                 # lowest: every requirement at its lower bound (CI runs this)
    python tools/check_wheel.py --resolve newest  # what a plain `pip install ossad` resolves today

1. `python -m build` makes the sdist and the wheel (the wheel is built from the sdist, so the sdist is complete);
   `twine check --strict` checks their metadata; the wheel must hold LICENSE and every module, and nothing of
   nbs/, tests/ or benchmarks/.
2. A new venv (no `-e`, no extras, no dev requirements) gets the wheel. With `--resolve lowest` (the default),
   every requirement is pinned to the lower bound settings.ini gives it, so the ranges' lower ends are exercised;
   CI's own venv (constraints.txt, the exact versions) exercises the other end.
3. From a folder outside the repository: `import ossad` (from site-packages, not the repo), `ossad --version`,
   `ossad --help`, a short toy training run with its run folder, and the README's "Use it from Python" code,
   verbatim, as one script.
"""
import argparse, configparser, os, re, shutil, signal, subprocess, sys, tempfile, time, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> list[str]:
    "settings.ini's install requirements (ranges)."
    cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return cfg["DEFAULT"]["requirements"].split()


def lowest(reqs: list[str]) -> list[str]:
    "`name==lower` for each `name>=lower,...` requirement; a requirement without a lower bound is refused."
    out = []
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?([^;]*)", r)
        low = re.search(r">=\s*([^,\s]+)", m.group(2)) if m else None
        if not low: sys.exit(f"check_wheel: every requirement needs a lower bound (name>=x), found {r!r} in settings.ini")
        out.append(f"{m.group(1)}=={low.group(1)}")
    return out


def readme_python() -> str:
    "The README's 'Use it from Python' code blocks, joined, verbatim."
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sec = re.search(r"^## Use it from Python\n(.*?)(?=^## )", text, re.S | re.M)
    if not sec: sys.exit("check_wheel: README.md has no '## Use it from Python' section")
    blocks = re.findall(r"```python\n(.*?)```", sec.group(1), re.S)
    if not blocks: sys.exit("check_wheel: README's 'Use it from Python' section has no python code")
    return "\n".join(blocks)


def run(cmd, cwd=None, env=None, capture=False):
    t = time.time()
    print("$", " ".join(map(str, cmd)), flush=True)
    p = subprocess.run(list(map(str, cmd)), cwd=cwd, env=env, text=True, capture_output=capture)
    if p.returncode:
        if capture: print(p.stdout, p.stderr, sep="\n")
        sys.exit(f"check_wheel: failed ({p.returncode}): {' '.join(map(str, cmd))}")
    print(f"  ({time.time() - t:.0f} s)", flush=True)
    return p.stdout if capture else None


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # stopped from outside (CI stops it when a test fails): kill the child, remove the work folder
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolve", choices=["lowest", "newest"], default="lowest",
                    help="lowest: pin every requirement to its lower bound (default); newest: let pip resolve the ranges")
    ap.add_argument("--python", default=shutil.which("python3") or sys.executable, help="the Python of the clean venv")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (printed) instead of deleting it")
    a = ap.parse_args()
    start = time.time()
    work = Path(tempfile.mkdtemp(prefix="ossad-wheel-"))
    try:
        dist = work / "dist"
        run([sys.executable, "-m", "build", "--outdir", dist, ROOT], capture=True)
        wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
        assert len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist, found {[p.name for p in dist.iterdir()]}"
        run([sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists])

        names = zipfile.ZipFile(wheels[0]).namelist()
        modules = {str(p.relative_to(ROOT)) for p in (ROOT / "ossad").rglob("*.py")}
        assert modules <= set(names), f"modules missing from the wheel: {sorted(modules - set(names))}"
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel has no LICENSE"
        stray = [n for n in names if n.split("/")[0] in ("nbs", "tests", "benchmarks", "tools")]
        assert not stray, f"repository files in the wheel: {stray}"
        print(f"wheel {wheels[0].name}: {len(names)} files, LICENSE and all {len(modules)} modules, nothing of the repo around them")

        venv = work / "venv"
        run([a.python, "-m", "venv", venv])
        py, pip = venv / "bin" / "python", [venv / "bin" / "python", "-m", "pip"]
        pins = []
        if a.resolve == "lowest":
            (work / "lowest.txt").write_text("\n".join(lowest(requirements())) + "\n")
            pins = ["-c", work / "lowest.txt"]
            print("lower bounds:", " ".join(lowest(requirements())))
        run([*pip, "install", "-q", wheels[0], *pins], capture=True)   # (its output only if it fails)
        run([*pip, "check"])
        print(run([*pip, "list", "--format=freeze"], capture=True))

        away = work / "away"; away.mkdir()                      # no repo on the path: cwd outside it, no PYTHONPATH
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"))
        where = run([py, "-c", "import ossad, pathlib; print(ossad.__version__, pathlib.Path(ossad.__file__).resolve())"],
                    cwd=away, env=env, capture=True)
        print(" ", where.strip())
        assert str(venv) in where and str(ROOT) not in where, f"ossad was not imported from the clean venv: {where}"
        assert run([venv / "bin" / "ossad", "--version"], cwd=away, env=env, capture=True).split()[-1] == where.split()[0]
        run([venv / "bin" / "ossad", "--help"], cwd=away, env=env, capture=True)
        out = run([venv / "bin" / "ossad", "train", "--method", "devnet", "--dataset", "toy", "--setting", "general",
                   "--shots", "5", "--seed", "0", "--epochs", "1", "--steps-per-epoch", "5", "--image-size", "64",
                   "--no-progress", "--out", away / "run"], cwd=away, env=env, capture=True)
        made = sorted(p.name for p in (away / "run").iterdir())
        for f in ("config.json", "metrics.json", "history.json", "model.pt"):
            assert f in made, f"the toy run did not write {f}: {made}"
        print(" ", out.strip().splitlines()[-1] if out.strip() else "", "| run folder:", " ".join(made))
        (away / "readme.py").write_text(readme_python())
        run([py, "readme.py"], cwd=away, env=env)
        print(f"check_wheel ({a.resolve}): passed in {time.time() - start:.0f} s")
    finally:
        if a.keep: print("kept", work)
        else: shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

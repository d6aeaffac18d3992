"""Fault injection: what a careful user (or bad luck) does to ossad, and what must happen. Tiny runs, seconds each.

The single-process refusals (unknown device, bad values, a folder that is not a run, broken or malicious checkpoints, a
config.json edited after training, ...) are shown and tested in nbs/30_cli.ipynb ("What ossad refuses, and why");
this module adds the faults that need a second process, a kill, a full disk or a real folder of images.
"""
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ossad.cli
import ossad.runs
from ossad.cli import main
from ossad.detector import NonFiniteLossError
from ossad.models.devnet import DevNet
from ossad.runs import RunSpec, train_run, evaluate_run
from conftest import write_png

TINY = ["--dataset", "toy", "--setting", "general", "--shots", "3", "--epochs", "1", "--steps-per-epoch", "2",
        "--image-size", "64", "--batch-size", "8", "--no-progress"]


def hidden(folder: Path) -> list[str]:
    "Files and folders a run keeps beside its run folder while it works (staging, lock, old)."
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def wait_for(cond, seconds=120.0, proc=None):
    t = time.time()
    while not cond():
        if proc is not None and proc.poll() is not None: raise AssertionError(f"the run ended early with code {proc.returncode}")
        if time.time() - t > seconds: raise AssertionError("timed out")
        time.sleep(0.1)


def test_sigkill_during_overwrite_keeps_the_previous_run_and_a_second_writer_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--seed", "0", "--out", str(out)]) == 0
    before = {f: (out / f).read_bytes() for f in ("config.json", "model.pt", "metrics.json", "history.json")}
    auroc = json.loads(before["metrics.json"])["auroc"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    slow = ["train", *TINY, "--seed", "1", "--epochs", "200", "--out", str(out), "--overwrite"]
    p = subprocess.Popen([sys.executable, "-m", "ossad.cli", *slow], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (tmp_path / ".run.staging" / "config.json").exists(), proc=p)   # training has started
        capsys.readouterr()
        assert main(["train", *TINY, "--seed", "2", "--out", str(out), "--overwrite"]) == 2     # a second writer
        assert f"being written by another ossad run (pid {p.pid})" in capsys.readouterr().err
        p.send_signal(signal.SIGKILL); p.wait(30)
    finally:
        if p.poll() is None: p.kill()
    assert {f: (out / f).read_bytes() for f in before} == before           # the previous complete run, untouched
    assert evaluate_run(out, progress=False)["auroc"] == auroc
    assert main(["train", *TINY, "--seed", "3", "--out", str(out), "--overwrite"]) == 0   # the next run cleans up
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    assert hidden(tmp_path) == []


def test_an_interrupted_replacement_is_finished_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    os.replace(out, tmp_path / ".run.old")                                 # killed between the two renames
    (tmp_path / ".run.staging").mkdir(); (tmp_path / ".run.staging" / "config.json").write_text("{}")
    assert main(["evaluate", str(out)]) == 2                               # no run there now
    assert main(["train", *TINY, "--out", str(out)]) == 2                  # the old run came back: it needs --overwrite
    assert "already holds a finished run" in capsys.readouterr().err
    assert (out / "metrics.json").exists() and hidden(tmp_path) == []


def test_a_full_disk_is_refused_before_training_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ossad.runs.shutil, "disk_usage", lambda p: SimpleNamespace(total=1 << 30, used=(1 << 30) - (10 << 20), free=10 << 20))
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ossad: error: not enough free disk space") and "10 MB free" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_non_finite_loss_keeps_the_previous_run_and_puts_last_good_aside(tmp_path, monkeypatch):
    spec = RunSpec(dataset="toy", shots=3, settings={"epochs": 1, "steps_per_epoch": 4, "image_size": 64, "batch_size": 8})
    out = tmp_path / "run"
    train_run(spec, out, progress=False)
    before = (out / "model.pt").read_bytes()
    calls = {"n": 0}
    real = DevNet.losses
    def losses(self, batch):
        calls["n"] += 1
        l = real(self, batch)
        return {k: v * float("nan") for k, v in l.items()} if calls["n"] == 3 else l
    monkeypatch.setattr(DevNet, "losses", losses)
    with pytest.raises(NonFiniteLossError) as e:
        train_run(spec, out, overwrite=True, progress=False)
    failed = tmp_path / "run.failed"
    assert f"last good weights were saved to {failed / 'last_good.pt'}" in str(e.value) and f"{out} was left as it was" in str(e.value)
    state = torch.load(failed / "last_good.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert (out / "model.pt").read_bytes() == before and hidden(tmp_path) == []


def folder(tmp_path, kind: str) -> Path:
    "An MVTec-style folder of grayscale, RGB or mixed PNGs (enough for anomaly-free training)."
    rng = np.random.default_rng(0)
    base = tmp_path / kind / "cell"
    def img(i):
        a = rng.integers(90, 110, (72, 72), dtype=np.uint8)
        return a if kind == "gray" or (kind == "mixed" and i % 2) else np.repeat(a[..., None], 3, 2)
    for part, n in (("train", 16), ("test", 6)):
        for i in range(n): write_png(base / part / "good" / f"{i:03d}.png", img(i))
    for i in range(6):
        a = img(i); a[20:40, 20:40] = 250; write_png(base / "test" / "crack" / f"{i:03d}.png", a)
    return tmp_path / kind


@pytest.mark.parametrize("method,kind,channels", [("saliencycut", "gray", None), ("saliencycut", "rgb", None),
                                                  ("saliencycut", "mixed", "1"), ("igd", "gray", None)])
def test_anomaly_free_training_on_grayscale_rgb_and_mixed_folders(tmp_path, capsys, method, kind, channels):
    root = folder(tmp_path, kind)
    args = ["train", "--method", method, "--dataset", "folder", "--root", str(root), "--category", "cell", "--setting", "anomaly_free",
            "--epochs", "1", "--steps-per-epoch", "2", "--image-size", "96" if method == "saliencycut" else "64", "--batch-size", "8",
            "--no-progress", "--out", str(tmp_path / "run")]
    if channels: args += ["--channels", channels]
    assert main(args) == 0, capsys.readouterr().err
    rc = json.loads((tmp_path / "run" / "config.json").read_text())
    assert rc["dataset"]["root"] == str(root.resolve()) and rc["dataset"]["channels"] == (int(channels) if channels else None)
    if kind == "mixed":                                                    # without --channels: told to pass it
        capsys.readouterr()
        assert main(args[:-2] + ["--out", str(tmp_path / "run2")]) == 2
        assert "--channels 1 or 3" in capsys.readouterr().err


def test_evaluate_notices_an_image_moved_between_test_folders(tmp_path, capsys):
    root = folder(tmp_path, "rgb")
    out = tmp_path / "run"
    assert main(["train", "--method", "saliencycut", "--dataset", "folder", "--root", str(root), "--category", "cell",
                 "--setting", "anomaly_free", "--epochs", "1", "--steps-per-epoch", "2", "--image-size", "96", "--batch-size", "8",
                 "--no-progress", "--out", str(out)]) == 0
    good, crack = root / "cell" / "test" / "good" / "000.png", root / "cell" / "test" / "crack" / "000.png"
    g, c = good.read_bytes(), crack.read_bytes()
    good.write_bytes(c); crack.write_bytes(g)                              # same names, same counts: the split record cannot see it
    capsys.readouterr()
    assert main(["evaluate", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "the images changed since" in err and "test/good/000.png" in err and "test/crack/000.png" in err, err


def test_root_and_out_expand_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert RunSpec(dataset="folder", root="~/data", category="x").root == str(tmp_path / "data")
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*63\)"): RunSpec(dataset="toy", seed=2**63)


def test_run_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try: assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    finally: os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert set(modes.values()) == {0o640}, modes


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="unknown device"):
        main(["--debug", "train", *TINY, "--device", "tpu9"])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_out_is_one_line(tmp_path, capsys):
    ro = tmp_path / "ro"; ro.mkdir(); ro.chmod(0o555)
    try:
        assert main(["train", *TINY, "--out", str(ro / "run")]) == 2
        assert capsys.readouterr().err.startswith("ossad: error: Permission denied")
    finally: ro.chmod(0o755)


def test_a_malicious_checkpoint_does_not_run(tmp_path):
    "A model.pt whose unpickling would run a shell command: `ossad evaluate` (the real command) refuses it, and the command never runs."
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    flag = tmp_path / "pwned"
    class Payload:
        def __reduce__(self): return (os.system, (f"touch {flag}",))
    (out / "model.pt").write_bytes(pickle.dumps({"model": Payload(), "method": "devnet"}))
    r = subprocess.run([sys.executable, "-m", "ossad.cli", "evaluate", str(out), "--no-progress"], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 2 and r.stderr.startswith("ossad: error: ") and "not an ossad checkpoint that loads safely" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not flag.exists()


def test_an_out_the_os_refuses_is_one_line(tmp_path, monkeypatch, capsys):
    "As root a read-only folder is still writable (the test above is skipped in CI), so the OS's refusal is injected here."
    real = os.open
    def refuse(path, *a, **k):
        if str(path).startswith(str(tmp_path / "locked")): raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a, **k)
    monkeypatch.setattr(ossad.runs.os, "open", refuse)
    assert main(["train", *TINY, "--out", str(tmp_path / "locked" / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ossad: error: Permission denied: ") and "Traceback" not in err, err


def test_a_failed_evaluation_keeps_the_weights_aside(tmp_path, monkeypatch, capsys):
    "Training finished, evaluation failed: the weights are worth keeping; they go to OUT.failed and OUT is left as it was."
    def fail(self, *a, **k): raise ValueError("the evaluation failed")
    monkeypatch.setattr(ossad.runs.Learner, "evaluate", fail)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "the evaluation failed" in err and f"model.pt is in {tmp_path / 'run.failed'}" in err, err
    assert (tmp_path / "run.failed" / "model.pt").exists() and not (tmp_path / "run").exists() and hidden(tmp_path) == []


def test_an_out_that_is_a_link_is_followed(tmp_path, capsys):
    real, link = tmp_path / "real", tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert main(["train", *TINY, "--out", str(link)]) == 0
    assert main(["train", *TINY, "--seed", "1", "--out", str(link), "--overwrite"]) == 0
    assert link.is_symlink() and json.loads((real / "config.json").read_text())["seed"] == 1 and hidden(tmp_path) == []


def test_debug_after_the_subcommand_and_bugs_are_not_hidden(monkeypatch):
    with pytest.raises(ValueError, match="unknown device"):
        main(["train", *TINY, "--device", "tpu9", "--debug"])
    def bug(*a, **k): raise OSError("something inside ossad went wrong")   # a bare OSError, no file: a bug, shown with its traceback
    monkeypatch.setattr(ossad.cli, "train_run", bug)
    with pytest.raises(OSError, match="went wrong"):
        main(["train", *TINY])

"""End-to-end checks of the `ossad` command: runs, determinism, run folders and clear errors."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from ossad.cli import main
from conftest import write_png

FAST = ["--epochs", "1", "--steps-per-epoch", "4", "--image-size", "64", "--batch-size", "16", "--no-progress"]


def test_help_documents_train_options():
    out = subprocess.run([sys.executable, "-m", "ossad.cli", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for opt in ("--method", "--dataset", "--setting", "--shots", "--seed", "--known-class", "--preset", "--out", "--root", "--category"):
        assert opt in out.stdout


def test_console_script_is_installed():
    out = subprocess.run(["ossad", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout and "evaluate" in out.stdout


def test_train_writes_run_folder_and_is_deterministic(tmp_path, capsys):
    runs = []
    for name in ("a", "b"):
        assert main(["train", "--dataset", "toy", "--setting", "general", "--shots", "10", "--seed", "3", "--out", str(tmp_path / name), *FAST]) == 0
        runs.append(tmp_path / name)
    for r in runs:
        assert {p.name for p in r.iterdir()} >= {"config.json", "metrics.json", "history.json", "model.pt"}
    m = [json.loads((r / "metrics.json").read_text()) for r in runs]
    c = [json.loads((r / "config.json").read_text()) for r in runs]
    assert c[0]["split"] == c[1]["split"]                      # same split
    assert abs(m[0]["auroc"] - m[1]["auroc"]) < 1e-6           # same AUROC
    assert set(m[0]["per_class_auroc"]) == {"hole", "scratch", "spot", "stain"}
    assert 0 <= m[0]["auprc"] <= 1
    assert "AUROC" in capsys.readouterr().out


def test_folder_dataset_hard_setting(mvtec_folder, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--root", str(mvtec_folder), "--category", "widget", "--setting", "hard",
                 "--known-class", "crack", "--shots", "2", "--out", str(out), *FAST]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert list(m["per_class_auroc"]) == ["stain"]
    split = json.loads((out / "config.json").read_text())["split"]
    assert split["n_test_anomalies"] == 6 and split["unseen_classes"] == ["stain"]


def _err(capsys):
    return capsys.readouterr().err


def test_wrong_folder_layout_prints_expected_tree(mvtec_folder, tmp_path, capsys):
    import shutil
    shutil.rmtree(mvtec_folder / "widget" / "train")
    assert main(["train", "--dataset", "folder", "--root", str(mvtec_folder), "--category", "widget", "--shots", "2", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = _err(capsys)
    assert "train/good/ is missing" in err and "Expected:" in err and "Found under" in err and "test/" in err


def test_undecodable_image_is_named(mvtec_folder, tmp_path, capsys):
    (mvtec_folder / "widget" / "train" / "good" / "005.png").write_bytes(b"\x89PNG broken")
    assert main(["train", "--dataset", "folder", "--root", str(mvtec_folder), "--category", "widget", "--shots", "2", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = _err(capsys)
    assert "cannot decode image" in err and "005.png" in err


def test_grayscale_rgb_mix_is_refused(mvtec_folder, tmp_path, capsys):
    write_png(mvtec_folder / "widget" / "train" / "good" / "004.png", np.full((40, 40), 100, np.uint8))
    assert main(["train", "--dataset", "folder", "--root", str(mvtec_folder), "--category", "widget", "--shots", "2", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = _err(capsys)
    assert "mix grayscale and colour" in err and "channels=3" in err


def test_supervised_method_with_zero_anomalies(tmp_path, capsys):
    assert main(["train", "--dataset", "toy", "--setting", "anomaly_free", "--shots", "0", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = _err(capsys)
    assert "learns from labelled anomalies" in err and "shots >= 1" in err


def test_existing_run_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "toy", "--shots", "5", "--out", str(out), *FAST]
    assert main(args) == 0
    before = (out / "model.pt").read_bytes()
    assert main(args) == 2
    assert "--overwrite" in _err(capsys)
    assert (out / "model.pt").read_bytes() == before


def test_imagenet_weights_offline_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    import ossad.backbones as bb
    # the registry holds this very function: a closed local port stands for "offline", with or without network
    monkeypatch.setattr(bb.resnet18_imagenet_file, "__defaults__", ("http://127.0.0.1:9/resnet18.pth", 2.0))
    assert bb.BACKBONES["resnet18"].imagenet_file is bb.resnet18_imagenet_file
    assert main(["train", "--dataset", "toy", "--weights", "imagenet", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = _err(capsys)
    assert "resnet18-f37072fd.pth" in err and "--weights" in err


@pytest.mark.parametrize("extra", [[], ["--variant", "dra2a"], ["--pseudo", "cutmix"]])
def test_dra_from_the_command_line(tmp_path, extra, capsys):
    out = tmp_path / "run"
    assert main(["train", "--method", "dra", "--dataset", "toy", "--setting", "hard", "--known-class", "spot", "--shots", "5",
                 "--out", str(out), *extra, *FAST]) == 0
    c = json.loads((out / "config.json").read_text())
    assert c["method"] == "dra" and c["variant"] == (extra[1] if extra and extra[0] == "--variant" else "dra")
    if extra and extra[0] == "--pseudo":
        assert c["config"]["pseudo"]["name"] == "cutmix"
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["per_class_auroc"]) == {"hole", "scratch", "stain"}
    capsys.readouterr()
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    assert f"AUROC                    {m['auroc']:.4f}" in capsys.readouterr().out   # saved references make the reload exact


def test_dra_options_need_dra(tmp_path, capsys):
    assert main(["train", "--method", "devnet", "--dataset", "toy", "--variant", "dra2a", "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "--variant applies to --method dra; devnet has no 'variant' setting" in capsys.readouterr().err


def test_dra_outlier_exposure_from_a_folder(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for i in range(4):
        write_png(tmp_path / "external" / f"{i}.png", rng.integers(0, 256, (50, 50, 3), dtype=np.uint8))
    out = tmp_path / "run"
    assert main(["train", "--method", "dra", "--dataset", "toy", "--shots", "5", "--outliers", str(tmp_path / "external"),
                 "--out", str(out), *FAST]) == 0
    c = json.loads((out / "config.json").read_text())
    assert c["config"]["pseudo"]["name"] == "outliers" and c["config"]["pseudo"]["settings"]["folder"].endswith("external")
    hist = json.loads((out / "history.json").read_text())
    assert all(np.isfinite(h["pseudo"]) for h in hist if "pseudo" in h)
    # evaluating the run needs only its run folder: the external images may be gone by then
    shutil.rmtree(tmp_path / "external")
    auroc = json.loads((out / "metrics.json").read_text())["auroc"]
    capsys.readouterr()
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    assert f"AUROC                    {auroc:.4f}" in capsys.readouterr().out


def test_empty_outlier_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "external").mkdir()
    assert main(["train", "--method", "dra", "--dataset", "toy", "--outliers", str(tmp_path / "external"), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "no image files" in capsys.readouterr().err


def test_set_changes_typed_settings_and_refuses_unknown_keys(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--method", "dra", "--dataset", "toy", "--shots", "5", "--out", str(out), *FAST,
                 "--set", "variant=dra2a", "--set", "pseudo=scar", "--set", "model.margin=4", "--set", "kind=cosine", "--set", "warmup=1"]) == 0
    c = json.loads((out / "config.json").read_text())
    assert c["variant"] == "dra2a" and c["config"]["pseudo"]["name"] == "scar"
    assert c["config"]["model"]["margin"] == 4.0 and isinstance(c["config"]["model"]["margin"], float)
    assert c["config"]["train"]["schedule"] == {**c["config"]["train"]["schedule"], "kind": "cosine", "warmup": 1}
    assert {k for k in json.loads((out / "history.json").read_text())[0]} >= {"seen", "pseudo"}
    capsys.readouterr()
    for bad, msg in ((["--set", "marginn=4"], "unknown setting 'marginn' for DRAConfig; known:"),
                     (["--set", "epochs=two"], "expected a whole number, got 'two'"),
                     (["--set", "epochs"], "--set expects KEY=VALUE"),
                     (["--set", "variant=dra9"], "unknown DRA variant 'dra9'")):
        assert main(["train", "--method", "dra", "--dataset", "toy", "--out", str(tmp_path / "bad"), *FAST, *bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, err
    assert not (tmp_path / "bad").exists()


def test_knn_baseline_trains_nothing_and_reevaluates(tmp_path, capsys):
    "`--method knn` fits its bank (no optimizer, no steps), records its backbone, and `ossad evaluate` reloads the bank from model.pt."
    out = tmp_path / "knn"
    assert main(["train", "--method", "knn", "--dataset", "toy", "--setting", "anomaly_free", "--seed", "1", "--image-size", "64",
                 "--out", str(out), "--no-progress"]) == 0
    cfg, m = json.loads((out / "config.json").read_text()), json.loads((out / "metrics.json").read_text())
    assert (cfg["config"]["model"]["backbone"], cfg["config"]["model"]["weights"]) == ("efficientnet_lite0", "imagenet")
    assert json.loads((out / "history.json").read_text()) == []
    assert m["auroc"] > 0.7                                    # ImageNet features find the toy defects with no labels
    capsys.readouterr()
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    assert f"AUROC                    {m['auroc']:.4f}" in capsys.readouterr().out
    assert main(["train", "--method", "knn", "--dataset", "toy", "--set", "epochs=2", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "trains nothing" in capsys.readouterr().err
    # a run written before anomaly_weight existed (0.1.0): no anomaly buffers in model.pt, no such settings in either config
    ck = torch.load(out / "model.pt", weights_only=True)
    ck["model"] = {k: v for k, v in ck["model"].items() if not k.startswith("anomaly_")}
    for c in (ck["config"], cfg["config"]): c["model"].pop("anomaly_weight"); c["model"].pop("anomaly_k")
    torch.save(ck, out / "model.pt"); (out / "config.json").write_text(json.dumps(cfg))
    assert main(["evaluate", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    assert f"AUROC                    {m['auroc']:.4f}" in capsys.readouterr().out


def test_knn_with_labelled_anomalies_reevaluates_and_needs_them(tmp_path, capsys):
    "`--set anomaly_weight=0.5` stores the labelled anomalies' features in model.pt (evaluate reproduces the AUROC); without labelled anomalies it is a one-line error."
    out = tmp_path / "knn"
    assert main(["train", "--method", "knn", "--dataset", "toy", "--setting", "general", "--shots", "5", "--seed", "0", "--image-size", "64",
                 "--set", "anomaly_weight=0.5", "--out", str(out), "--no-progress"]) == 0
    state = torch.load(out / "model.pt", weights_only=True)["model"]
    assert state["anomaly_bank"].shape[0] == 5 and float(state["anomaly_scale"]) > 0
    m = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    assert f"AUROC                    {m['auroc']:.4f}" in capsys.readouterr().out
    assert main(["train", "--method", "knn", "--dataset", "toy", "--setting", "anomaly_free", "--image-size", "64", "--set", "anomaly_weight=0.5",
                 "--out", str(tmp_path / "free"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "KNN learns from labelled anomalies" in err and "anomaly_weight=0)" in err and not (tmp_path / "free").exists()


def test_backbone_option_and_weights_from_a_run(tmp_path, capsys):
    "--backbone builds the method on another network; --weights RUN reuses a run's trained backbone, and refuses another kind."
    a = tmp_path / "a"
    assert main(["train", "--method", "devnet", "--backbone", "efficientnet_lite0", "--weights", "imagenet", "--dataset", "toy", "--seed", "0",
                 "--out", str(a), *FAST]) == 0
    assert json.loads((a / "config.json").read_text())["config"]["model"]["backbone"] == "efficientnet_lite0"
    fast0 = [a if a != "1" else "0" for a in FAST]             # --epochs 0: run b keeps the weights it starts from
    capsys.readouterr()                                         # another seed draws another split, whose test images run a trained on: refused
    assert main(["train", "--method", "devnet", "--backbone", "efficientnet_lite0", "--weights", str(a), "--dataset", "toy", "--seed", "5",
                 "--out", str(tmp_path / "b5"), *fast0]) == 2
    assert "were trained on" in capsys.readouterr().err and not (tmp_path / "b5").exists()
    assert main(["train", "--method", "devnet", "--backbone", "efficientnet_lite0", "--weights", str(a), "--dataset", "toy", "--seed", "0",
                 "--out", str(tmp_path / "b"), *fast0]) == 0          # the same split: accepted
    sa, sb = (torch.load(r / "model.pt", weights_only=True)["model"] for r in (a, tmp_path / "b"))
    bkeys = [k for k in sa if k.startswith("backbone.")]
    assert len(bkeys) > 100 and all(torch.equal(sa[k], sb[k]) for k in bkeys)     # run a's trained backbone, not ImageNet's
    assert not torch.equal(sa["head.weight"], sb["head.weight"])                    # the head is new (run a trained its own)
    capsys.readouterr()
    assert main(["train", "--method", "devnet", "--weights", str(a), "--dataset", "toy", "--out", str(tmp_path / "c"), *FAST]) == 2
    assert "pass --backbone efficientnet_lite0" in capsys.readouterr().err


def test_bgad_pixel_metrics_reevaluation_and_errors(tmp_path, capsys):
    "`--method bgad` writes image and pixel metrics, `ossad evaluate` reproduces them from model.pt alone, and bad input is one line."
    out = tmp_path / "bgad"
    assert main(["train", "--method", "bgad", "--dataset", "toy", "--setting", "hard", "--known-class", "hole", "--seed", "0",
                 "--image-size", "64", "--epochs", "2", "--steps-per-epoch", "2", "--set", "n_blocks=2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert {"pixel_auroc", "pro"} <= set(m) and "pixel AUROC" in printed
    state = torch.load(out / "model.pt", weights_only=True)
    assert len(state["optimizers"]) == 3 and state["model"]["level_max"].ne(0).all()   # one optimizer per level; the normaliser was fitted
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    again = capsys.readouterr().out                              # the same numbers from model.pt alone: flows, normaliser and encoder
    assert f"AUROC                    {m['auroc']:.4f}" in again and f"pixel AUROC              {m['pixel_auroc']:.4f}" in again
    assert main(["train", "--method", "bgad", "--dataset", "toy", "--image-size", "24", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "too small" in err and "Traceback" not in err
    assert main(["train", "--method", "bgad", "--dataset", "toy", "--setting", "anomaly_free", "--out", str(tmp_path / "y"), "--no-progress"]) == 2
    assert "labelled anomalies" in capsys.readouterr().err

def test_igd_one_class_settings_reevaluation_and_errors(tmp_path, capsys):
    "`--method igd` trains on normal images only under --setting contamination and small_train (with their defaults), `ossad evaluate` reproduces the metrics from model.pt, and bad input is one line."
    out = tmp_path / "igd"
    assert main(["train", "--method", "igd", "--dataset", "toy", "--setting", "contamination", "--seed", "0",
                 "--epochs", "1", "--steps-per-epoch", "2", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    m = json.loads((out / "metrics.json").read_text())
    rc = json.loads((out / "config.json").read_text())
    assert rc["protocol"]["contamination"] == 0.1 and rc["split"]["n_hidden_anomalies"] > 0   # the default share of secret anomalies
    state = torch.load(out / "model.pt", weights_only=True)
    assert len(state["optimizers"]) == 4                                  # generator and critic, global and local
    assert state["model"]["branches.global.s"] >= 1.0 and state["model"]["branches.local.c"].abs().min() >= 0.1 - 1e-6   # E-step guards
    assert main(["evaluate", str(out), "--no-progress"]) == 0
    assert f"AUROC                    {m['auroc']:.4f}" in capsys.readouterr().out
    small = tmp_path / "small"
    assert main(["train", "--method", "igd", "--dataset", "toy", "--setting", "small_train", "--epochs", "1", "--steps-per-epoch", "1",
                 "--set", "models=global", "--out", str(small), "--no-progress"]) == 0
    capsys.readouterr()
    assert json.loads((small / "config.json").read_text())["protocol"]["train_fraction"] == 0.5
    assert main(["train", "--method", "igd", "--dataset", "toy", "--image-size", "24", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "use image_size >= 32" in err and "Traceback" not in err


def test_two_image_cutmix_trains_with_a_single_pseudo_anomaly_slot(tmp_path, capsys):
    "Batches of 3 often hold one normal slot to turn into a pseudo anomaly: CutMix draws its partner from the training normals, so it works."
    args = ["train", "--method", "dra", "--pseudo", "cutmix", "--dataset", "toy", "--shots", "5", "--batch-size", "3",
            "--epochs", "1", "--steps-per-epoch", "8", "--image-size", "64", "--no-progress", "--out", str(tmp_path / "run")]
    assert main(args) == 0, capsys.readouterr().err

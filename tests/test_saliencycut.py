"""SaliencyCut end to end: on real grayscale ELPV cells, through the command line (anomaly-free) and a reloaded checkpoint."""
import json

import pytest
import torch

from ossad.augment import SaliencyCut, get_pseudo
from ossad.cli import main
from ossad.core import make_generator, seeded
from ossad.data import load_elpv
from ossad.models.saliencycut import SaliencyCutConfig, SaliencyCutNet


def test_saliencycut_on_grayscale_cells_keeps_pixels_outside_mask():
    x = load_elpv().where(label=0).subset(range(6)).tensors(96)          # (6,1,96,96) uint8: grayscale
    assert x.shape[1] == 1
    with seeded(0): net = SaliencyCutNet(SaliencyCutConfig.teaching())
    out, m = net.pseudo(x, make_generator(0))
    assert out.shape == x.shape and out.dtype == torch.uint8 and m.shape == (6, 96, 96)
    keep = (m == 0)[:, None]
    assert torch.equal(out[keep], x[keep])
    assert ((m.flatten(1).mean(1) > 0) & (m.flatten(1).mean(1) < 1)).all()
    assert (out != x).any()                                               # the swapped region brings other content


def test_unbound_saliencycut_says_what_it_needs():
    with pytest.raises(RuntimeError, match="needs a model"):
        get_pseudo("saliencycut")(torch.zeros(2, 3, 32, 32), make_generator(0))
    with pytest.raises(ValueError, match="refresh"):
        SaliencyCut(refresh="sometimes")


def test_anomaly_free_cli_run_reloads_with_identical_scores(tmp_path, capsys):
    argv = ["train", "--method", "saliencycut", "--dataset", "elpv", "--setting", "anomaly_free", "--epochs", "1", "--steps-per-epoch", "2",
            "--batch-size", "8", "--no-progress", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["shots"] == 0 and set(m["per_class_auroc"]) == {"mono", "poly"}
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--no-progress"]) == 0
    assert f"{m['auroc']:.4f}" in capsys.readouterr().out


def test_pseudo_option_is_refused_for_devnet(capsys):
    assert main(["train", "--method", "devnet", "--pseudo", "saliencycut", "--dataset", "toy", "--no-progress"]) == 2
    assert "--pseudo applies to --method dra or saliencycut" in capsys.readouterr().err

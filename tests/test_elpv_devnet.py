"""Acceptance: DevNet with the teaching preset learns ELPV (general setting, 10 shots, seed 0) well above chance.

This is the README's main job through the Python API (about three minutes on a 2-core CPU). Its wall time is
measured by benchmarks/devnet_elpv_teaching.py, not asserted here.
"""
from ossad.core import seeded, spawn
from ossad.data import load_elpv
from ossad.learner import Learner
from ossad.models.devnet import DevNet, DevNetConfig
from ossad.protocols import make_split


def test_devnet_teaching_preset_on_elpv():
    split = make_split(load_elpv(), "general", shots=10, seed=0)
    cfg = DevNetConfig.teaching()
    with seeded(spawn(0, "init")):
        model = DevNet(cfg)
    learn = Learner(model, split, cfg, seed=0, progress=False)
    learn.fit()
    m = learn.evaluate()
    assert m["auroc"] >= 0.70, m
    assert m["auprc"] > 705 / 1082           # better than the anomaly fraction a random ranking gets
    assert set(m["per_class_auroc"]) == {"mono", "poly"}
    assert min(m["per_class_auroc"].values()) > 0.6, m["per_class_auroc"]

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
    # Same seed, same torch, two CPUs: 0.744 on an AVX2 EPYC (2026-11-23), 0.682 on an AVX512 Xeon (2026-12-03); on the
    # AVX512-BF16 EPYC with the bf16 fast path, 0.730 with 2 threads and 0.689 with 1 (2026-12-07). Instruction sets and
    # thread counts round differently and 200 training steps amplify the difference, so the bar is "clearly above
    # chance", not one machine's number: with 377 normal and 705 anomalous test images, a random ranking's AUROC has a
    # standard deviation of about 0.018, and 0.65 is more than eight of them above 0.5.
    assert m["auroc"] >= 0.65, m
    assert m["auprc"] > 705 / 1082           # better than the anomaly fraction a random ranking gets
    assert set(m["per_class_auroc"]) == {"mono", "poly"}
    assert min(m["per_class_auroc"].values()) > 0.6, m["per_class_auroc"]

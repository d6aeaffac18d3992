"""Split counts and exclusions on the real ELPV data and the generated toy set."""
import pytest
import torch

from ossad.data import load_elpv, make_toy
from ossad.protocols import make_split, split_overlap


@pytest.fixture(scope="module")
def elpv():
    return load_elpv()


@pytest.mark.parametrize("shots", [1, 10])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_elpv_general(elpv, shots, seed):
    s = make_split(elpv, "general", shots=shots, seed=seed)
    assert len(s.train_normal) == 1131 and len(s.train_anomalies) == shots
    assert int((s.test.labels == 0).sum()) == 377 and int((s.test.labels == 1).sum()) == 715 - shots
    assert not any(split_overlap(s).values())
    assert s.test.anomaly_classes == ["mono", "poly"]


@pytest.mark.parametrize("known,other,n_other", [("mono", "poly", 402), ("poly", "mono", 313)])
def test_elpv_hard(elpv, known, other, n_other):
    s = make_split(elpv, "hard", shots=10, seed=0, known_class=known)
    assert set(s.train_anomalies.classes) == {known}
    assert s.test.anomaly_classes == [other] and int((s.test.labels == 1).sum()) == n_other
    assert s.record["unseen_classes"] == [other]
    assert not any(split_overlap(s).values())


def test_elpv_split_is_reproducible(elpv):
    a, b = make_split(elpv, "general", shots=10, seed=7), make_split(elpv, "general", shots=10, seed=7)
    assert a.record == b.record and torch.equal(a.test.index, b.test.index)


def test_toy_hard_removes_known_class():
    toy = make_toy(seed=0)
    for known in toy.anomaly_classes:
        s = make_split(toy, "hard", shots=10, seed=0, known_class=known)
        assert known not in s.test.classes
        assert len(s.test.anomaly_classes) == 3
        assert int((s.test.labels == 1).sum()) == 90


def test_toy_generation_is_fast_and_deterministic():
    import time
    t = time.perf_counter()
    a = make_toy(seed=4).tensors(64)
    assert time.perf_counter() - t < 30
    assert torch.equal(a, make_toy(seed=4).tensors(64))

"""Shared fixtures for ossad's pytest suite (the notebooks carry the unit tests; these are end-to-end checks)."""
import importlib.util
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def sidebar_pages() -> list[str]:
    "The notebook files of the `_quarto.yml` sidebar, in order, as the docs tool reads them (tools/build_docs.py)."
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "tools" / "build_docs.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return [f for _, f in mod.sidebar(ROOT / "_quarto.yml")]


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def mvtec_folder(tmp_path):
    """A small valid MVTec-style folder: root/widget with 12 train, 6 test normals and two defect classes of 6."""
    rng = np.random.default_rng(0)
    base = tmp_path / "widget"
    for part, n in (("train", 12), ("test", 6)):
        for i in range(n):
            write_png(base / part / "good" / f"{i:03d}.png", rng.integers(90, 110, (40, 40, 3), dtype=np.uint8))
    for cls in ("crack", "stain"):
        for i in range(6):
            img = rng.integers(90, 110, (40, 40, 3), dtype=np.uint8)
            img[10:20, 10:20] = 250 if cls == "crack" else 10
            write_png(base / "test" / cls / f"{i:03d}.png", img)
            mask = np.zeros((40, 40), np.uint8); mask[10:20, 10:20] = 255
            write_png(base / "ground_truth" / cls / f"{i:03d}_mask.png", mask)
    return tmp_path

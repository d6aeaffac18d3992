"""The course's import order: method modules import the detector contract and shared components, never the learner or another method."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHOD_MODULES = [p for p in (ROOT / "ossad" / "models").glob("*.py") if p.name not in ("__init__.py", "components.py")]


def test_method_modules_import_neither_the_learner_nor_another_method():
    assert {p.stem for p in METHOD_MODULES} >= {"devnet", "dra", "saliencycut"}
    others = {p.stem for p in METHOD_MODULES}
    for p in METHOD_MODULES:
        imports = [l for l in p.read_text().splitlines() if re.match(r"\s*(from|import)\s", l)]
        bad = [l for l in imports if re.search(r"(\.\.|ossad\.)learner\b|(\.\.|ossad\.)(runs|cli)\b", l)
               or any(re.search(rf"(\.|ossad\.models\.){o}\b", l) for o in others - {p.stem})]
        assert not bad, f"{p.name} imports {bad}"


def test_the_detector_contract_does_not_import_the_learner():
    src = (ROOT / "ossad" / "detector.py").read_text()
    assert "learner" not in "\n".join(l for l in src.splitlines() if l.startswith(("from", "import")))

"""Write README.md from nbs/index.ipynb without Quarto (which our machines cannot install).

Markdown cells are copied; code cells become ```python blocks; cells marked `#| hide` are left out.
`.ci/run` regenerates README.md and fails if it differs from the committed one.
"""
import json
from pathlib import Path

root = Path(__file__).resolve().parents[1]
nb = json.loads((root / "nbs" / "index.ipynb").read_text())
parts = ["<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->"]
for cell in nb["cells"]:
    src = "".join(cell["source"]).strip()
    if not src: continue
    lines = src.splitlines()
    if any(l.strip().replace(" ", "") in ("#|hide", "#|export") for l in lines): continue
    if cell["cell_type"] == "markdown": parts.append(src)
    else: parts.append("```python\n" + "\n".join(l for l in lines if not l.startswith("#|")) + "\n```")
(root / "README.md").write_text("\n\n".join(parts) + "\n")

"""Write README.md from nbs/index.ipynb without Quarto (which our machines cannot install).

Markdown cells are copied; code cells become ```python blocks; cells marked `#| hide` are left out. A cell marked
`#| echo: false` shows its output, not its code: it is run (in `nbs/`, after the notebook's hidden cells that only import),
and the Markdown it ends with is copied in, so a table rendered from a results file reads the same in README and in the
docs. `.ci/run` regenerates README.md and fails if it differs from the committed one.
"""
import ast, json, os, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
nb = json.loads((root / "nbs" / "index.ipynb").read_text())
ns = {"__name__": "__main__"}

# the `#| key: value` lines at the top of a cell, read as the docs build reads them (one parser for both tools)
sys.path.insert(0, str(root / "tools"))
from build_docs import directives

def import_only(src: str) -> bool:
    "A cell whose code only imports (cells with IPython magics or shell lines are not)."
    try: return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.parse(src).body)
    except SyntaxError: return False

def run(src: str):
    "Run a cell's code in the notebook's folder; return the value of its last line if that is an expression (as Jupyter shows it)."
    tree = ast.parse(src)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    cwd = os.getcwd(); os.chdir(root / "nbs")
    try:
        exec(compile(tree, "index.ipynb", "exec"), ns)
        return eval(compile(ast.Expression(last.value), "index.ipynb", "eval"), ns) if last else None
    finally: os.chdir(cwd)

parts = ["<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->"]
for cell in nb["cells"]:
    src = "".join(cell["source"]).strip()
    if not src: continue
    lines, d = src.splitlines(), directives(src)
    if cell["cell_type"] == "code" and "hide" in d and import_only(src):
        run(src); continue
    if "hide" in d or "export" in d: continue
    if cell["cell_type"] == "markdown": parts.append(src)
    elif d.get("echo", "").lower() == "false":
        out = run(src)
        if not hasattr(out, "_repr_markdown_"): raise SystemExit(f"make_readme: an `echo: false` cell must end with Markdown output, got {type(out).__name__}:\n{src}")
        parts.append(out._repr_markdown_().strip())
    else: parts.append("```python\n" + "\n".join(l for l in lines if not l.startswith("#|")) + "\n```")
(root / "README.md").write_text("\n\n".join(parts) + "\n")

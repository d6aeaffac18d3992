"""The docs configuration that `nbdev_docs` (with Quarto) and `tools/build_docs.py` (without) both read."""
import configparser, json, re
from pathlib import Path
import yaml
from conftest import sidebar_pages

ROOT = Path(__file__).resolve().parent.parent


def test_nbdev_docs_reads_our_quarto_yml():
    # nbdev 2 renders from a copy of nbs/ (nbdev_proc_nbs) and takes nbs/_quarto.yml; ours is the top-level file
    top, nbs = ROOT / "_quarto.yml", ROOT / "nbs" / "_quarto.yml"
    assert nbs.exists() and nbs.read_text() == top.read_text(), "nbs/_quarto.yml must be the top-level _quarto.yml (a symlink)"
    ini = configparser.ConfigParser(); ini.read(ROOT / "settings.ini")
    # a generated sidebar.yml would list the notebooks alphabetically; ours is curated in _quarto.yml
    assert ini["DEFAULT"]["custom_sidebar"] == "True"
    cfg = yaml.safe_load(top.read_text())
    assert cfg["project"]["output-dir"] == ini["DEFAULT"]["doc_path"]   # nbdev_docs moves <cache>/<doc_path> to the repo
    assert "metadata-files" not in cfg, "nbdev.yml/sidebar.yml would override the curated sidebar and site settings"


def test_sidebar_lists_every_notebook_once():
    pages = sidebar_pages()
    nbs = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("_"))
    assert len(pages) == len(set(pages)), f"listed twice: {[p for p in pages if pages.count(p) > 1]}"
    assert sorted(pages) == nbs, f"not in the sidebar: {sorted(set(nbs) - set(pages))}; no such notebook: {sorted(set(pages) - set(nbs))}"
    assert pages[0] == "index.ipynb"


def test_every_notebook_has_a_title():
    for p in (ROOT / "nbs").glob("*.ipynb"):
        first = json.loads(p.read_text())["cells"][0]
        assert first["cell_type"] == "markdown" and re.match(r"#\s+\S", "".join(first["source"])), f"{p.name}: first cell must be '# Title'"


def test_nbdev_prepares_the_docs(tmp_path):
    """What `nbdev_docs` does before it hands over to Quarto, on a copy of the project: write nbdev.yml, (not) the sidebar,
    and process every notebook, which executes the export, import and show_doc cells. A cell mixing imports with other
    code is executed there out of context and breaks the docs build, though `nbdev_test` passes."""
    import shutil, subprocess, sys
    shutil.copy(ROOT / "settings.ini", tmp_path); shutil.copy(ROOT / "_quarto.yml", tmp_path)
    shutil.copytree(ROOT / "nbs", tmp_path / "nbs", symlinks=True)
    code = ("from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar\nfrom nbdev.serve import proc_nbs\n"
            "refresh_quarto_yml(); nbdev_sidebar.__wrapped__(); proc_nbs(n_workers=2)")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    proc = tmp_path / "_proc"
    assert (proc / "_quarto.yml").read_text() == (ROOT / "_quarto.yml").read_text()
    assert not (tmp_path / "nbs" / "sidebar.yml").exists()
    pages = sidebar_pages()
    assert all((proc / p).exists() for p in pages), sorted(set(pages) - {p.name for p in proc.iterdir()})
    assert "Found cells containing imports and other code" not in r.stderr, r.stderr[-3000:]

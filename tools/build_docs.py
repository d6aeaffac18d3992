"""Build the docs site without Quarto: run the notebooks of the _quarto.yml sidebar, render them to HTML, add navigation.

`nbdev_docs` needs Quarto, which we cannot install on our machines. This script gives the same pages, plainer:

1. reads the sidebar of `_quarto.yml` (the one source of the site's structure, also used by `nbdev_docs`);
2. runs each notebook the way `nbdev_test` does (in `nbs/`, skipping `#| eval: false`, export cells and cells carrying
   a flag of --skip, by default `slow`), keeping the outputs: figures, tables and the `show_doc` API docs;
3. drops `#| hide` cells, shows only the output of `#| echo: false` cells (as Quarto does), renders the rest with nbconvert's lab template, and adds a sidebar and an index page;
4. makes the pages work offline: MathJax 2 is copied into `_static/mathjax` from a local install (Debian's
   `libjs-mathjax`, or `$MATHJAX_PATH`; otherwise the pages load it from its CDN), require.js is left out (no page
   keeps widget state, so nothing needs it), and links between notebooks point to their pages.

    python tools/build_docs.py                 # every page, into _docs/
    python tools/build_docs.py --only 20_plots # one page (plus the navigation)

It stops at the first notebook that fails and says which cell. Pages are written atomically.
"""
import argparse, html, json, os, re, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"


def sidebar(cfg_path: Path) -> list[tuple[str, str]]:
    "[(section, notebook file)] in sidebar order, from _quarto.yml."
    import yaml
    cfg = yaml.safe_load(cfg_path.read_text())
    out = []
    def walk(items, section):
        for it in items:
            if isinstance(it, str): out.append((section, it))
            elif isinstance(it, dict) and "contents" in it: walk(it["contents"], it.get("section", section))
            elif isinstance(it, dict) and "href" in it: out.append((section, it["href"]))
    walk(cfg["website"]["sidebar"]["contents"], "")
    return out


def directives(src: str) -> dict:
    "The `#| key: value` lines at the top of a cell."
    d = {}
    for line in src.splitlines():
        m = re.match(r"^\s*#\|\s*([\w-]+):?\s*(.*)$", line)
        if not m: break
        d[m.group(1)] = m.group(2).strip()
    return d


def run_notebook(path: Path, skip: set[str]):
    "Execute a notebook like nbdev_test does and return it (an execnb dict-like) with its outputs."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    def no_eval(cell):
        if cell.cell_type != "code": return True
        if "nbdev_export" + "(" in cell.source: return True
        d = directives(cell.source)
        return d.get("eval", "").lower() == "false" or bool(skip & set(d))
    shell = CaptureShell(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=no_eval)
    except Exception:
        sys.stderr.write(shell.prettytb(fname=path) + "\n"); raise SystemExit(f"build_docs: {path.name} failed; no page written for it")
    finally: os.chdir(cwd)
    return nb


MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"   # nbconvert's default, served from a local copy
MATHJAX_DIRS = ["/usr/share/javascript/mathjax", "/usr/share/mathjax"]   # Debian/Ubuntu's libjs-mathjax
MATHJAX_PARTS = ["MathJax.js", f"config/{MATHJAX_CONFIG.split(',')[0]}.js", "config/Safe.js", "config/local",
                 "extensions", "jax/input/TeX", "jax/element", "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff"]


def local_mathjax(out: Path) -> str | None:
    """Copy the parts of MathJax 2 that the pages use into `out/_static/mathjax`; their URL, or None if none is found.

    Looked for in `$MATHJAX_PATH`, then where Debian's `libjs-mathjax` puts it (`.ci/run` installs that package)."""
    import shutil
    cands = [os.environ["MATHJAX_PATH"]] if os.environ.get("MATHJAX_PATH") else MATHJAX_DIRS
    src = next((Path(c) for c in cands if (Path(c) / "MathJax.js").exists()), None)
    if src is None: return None
    dst = out / "_static" / "mathjax"
    if not (dst / "MathJax.js").exists():
        tmp = out / "_static" / ".mathjax.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for part in MATHJAX_PARTS:
            s, d = src / part, tmp / part
            if not s.exists(): raise SystemExit(f"build_docs: {src} has no {part}; is it a complete MathJax 2?")
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(s, d) if s.is_dir() else shutil.copy2(s, d)
        shutil.rmtree(dst, ignore_errors=True); tmp.replace(dst)
    return f"_static/mathjax/MathJax.js?config={MATHJAX_CONFIG}"


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# show_doc writes Pandoc link attributes, `[source](url){target="_blank" style="..."}`, which Quarto reads and nbconvert does not
QUARTO_LINK = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}')


# nbdev 2 looks up a symbol's line under its qualified name in a table keyed by the bare name, so every source link
# ends in "#LNone" (nbdev issue 1418); we find the line ourselves from the heading show_doc writes under the link
NO_LINE = re.compile(r'(\[source\]\([^)\s]*?/blob/[^/)]+/([^)#\s]+\.py))#LNone(\)\{[^}]*\}\s*#+\s+([\w.]+))')


def definition_line(py: Path, name: str) -> int | None:
    "Line of `name` (a top-level `f` / `C`, or `C.m`) in the Python file `py`, or None."
    import ast
    try: tree = ast.parse(py.read_text(encoding="utf-8"))
    except (OSError, SyntaxError): return None
    head, _, meth = name.partition(".")
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == head:
            if not meth: return node.lineno
            for sub in getattr(node, "body", []):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name == meth: return sub.lineno
    return None


def fix_source_lines(md: str) -> str:
    "Give show_doc's `#LNone` source links their line (or no fragment where the definition is not found)."
    def fix(m):
        line = definition_line(ROOT / m.group(2), m.group(4))
        return m.group(1) + (f"#L{line}" if line else "") + m.group(3)
    return NO_LINE.sub(fix, md)


def quarto_link_to_html(m: re.Match) -> str:
    attrs = " ".join(f'{k}="{html.escape(v)}"' for k, v in re.findall(r'([\w-]+)="([^"]*)"', m.group(3)))
    return f'<a href="{html.escape(m.group(2))}" {attrs}>{html.escape(m.group(1))}</a>'


def to_html(nb, title: str, mathjax_url: str | None = None) -> str:
    "Render an executed notebook without its hidden cells and directive lines."
    import nbformat
    from nbconvert import HTMLExporter
    cells = []
    for c in nb.cells:
        d = directives(c.source) if c.cell_type == "code" else {}
        if "hide" in d or "default_exp" in d or ("nbdev_export" + "(" in c.source): continue
        c = dict(c)
        c["source"] = "\n".join(l for l in c["source"].splitlines() if not re.match(r"^\s*#\|", l))
        c.pop("idx_", None); c.pop("directives_", None)
        if d.get("echo", "").lower() == "false": c["metadata"] = {**dict(c.get("metadata") or {}), "tags": ["remove_input"]}   # output only, as Quarto
        if c["cell_type"] == "code": c.setdefault("outputs", []); c.setdefault("execution_count", None)
        cells.append(c)
    doc = {"cells": cells, "metadata": {"title": title, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    node = nbformat.reads(json.dumps(doc, default=str), as_version=4)   # reads joins multi-line output lists as nbformat expects
    for c in node.cells:
        if c.cell_type != "code": continue
        if re.fullmatch(r"(\s*show_doc\([^\n]*\)\s*)+", c.source): c.metadata["tags"] = ["remove_input"]   # as nbdev_docs: the docs, not the call
        for o in c.outputs:
            data = o.get("data", {})
            if "text/markdown" in data: data["text/markdown"] = QUARTO_LINK.sub(quarto_link_to_html, fix_source_lines(data["text/markdown"]))
            if WIDGET_MIME in data and len(set(data) - {WIDGET_MIME, "text/plain"}): del data[WIDGET_MIME]   # show the static snapshot
    from traitlets.config import Config
    conf = Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": ["remove_input"]}})
    kw = {"mathjax_url": mathjax_url} if mathjax_url else {}
    body, _ = HTMLExporter(config=conf, template_name="lab", exclude_input_prompt=True, exclude_output_prompt=True, **kw).from_notebook_node(node)
    body = re.sub(r'<script src="[^"]*require(\.min)?\.js"></script>\s*', "", body)          # no widget state: not needed
    body = re.sub(r'href="(\w+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
    return body


NAV_CSS = """<link rel="icon" href="data:,">
<style>
body{margin-left:17rem}
nav.ossad-nav{position:fixed;top:0;left:0;bottom:0;width:15.5rem;overflow-y:auto;padding:1rem;border-right:1px solid #ddd;background:#fafafa;font:14px system-ui,sans-serif}
nav.ossad-nav h2{font-size:1.1rem;margin:.2rem 0 1rem} nav.ossad-nav h3{font-size:.8rem;text-transform:uppercase;color:#666;margin:1rem 0 .3rem}
nav.ossad-nav a{display:block;padding:.15rem .3rem;color:#1a5fb4;text-decoration:none;border-radius:3px} nav.ossad-nav a.current{background:#e3ecfa;font-weight:600}
</style>"""


def nav(pages: list[tuple[str, str, str]], current: str) -> str:
    out, section = ['<nav class="ossad-nav"><h2><a href="index.html">ossad</a></h2>'], None
    for sec, name, title in pages:
        if sec != section and sec: out.append(f"<h3>{html.escape(sec)}</h3>")
        section = sec
        cls = ' class="current"' if name == current else ""
        out.append(f'<a href="{name}.html"{cls}>{html.escape(title)}</a>')
    return "\n".join(out + ["</nav>"])


def page_title(path: Path) -> str:
    for c in json.loads(path.read_text())["cells"]:
        if c["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(c["source"]), re.M)
            if m: return m.group(1).strip()
    return path.stem


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "_docs"), help="output folder (default: _docs)")
    ap.add_argument("--only", nargs="*", help="build only these notebooks (stems), keep the navigation to all")
    ap.add_argument("--skip", nargs="*", default=["slow"], help="cell flags to skip (default: slow)")
    args = ap.parse_args()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    entries = sidebar(ROOT / "_quarto.yml")
    missing = [f for _, f in entries if not (NBS / f).exists()]
    if missing: raise SystemExit(f"build_docs: _quarto.yml lists notebooks that do not exist: {missing}")
    pages = [(sec, Path(f).stem, page_title(NBS / f)) for sec, f in entries]
    todo = [p for p in pages if not args.only or p[1] in args.only]
    sys.path.insert(0, str(ROOT))
    mathjax = local_mathjax(out)
    if mathjax is None: print("build_docs: no local MathJax 2 (apt-get install libjs-mathjax, or set MATHJAX_PATH); pages load it from its CDN")
    for sec, name, title in todo:
        t0 = time.perf_counter()
        nb = run_notebook(NBS / f"{name}.ipynb", set(args.skip))
        body = to_html(nb, title, mathjax)
        body = body.replace("</head>", NAV_CSS + "\n</head>", 1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + nav(pages, name), body, count=1)
        tmp = out / f".{name}.html.tmp"; tmp.write_text(body); tmp.replace(out / f"{name}.html")
        print(f"{name}.html  {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"docs in {out}; open {out / 'index.html'}")


if __name__ == "__main__":
    main()

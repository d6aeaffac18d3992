"""Real-browser tests: the docs pages and the widgets notebook in JupyterLab, in headless Chromium driven by Playwright.

They need Debian's `chromium` (or `$OSSAD_CHROMIUM`) and the `playwright` Python package (a dev requirement; its own
browser download is not used). `.ci/run` installs both. Where Chromium is missing they are skipped, except under CI
(`CI` set), where that is a failure. Screenshots go to `test-artifacts/browser/` (or `$OSSAD_ARTIFACTS/browser`).

Everything is served from this machine on 127.0.0.1; the pages must not need the network.
"""
from __future__ import annotations
import functools, http.server, json, os, re, secrets, shutil, socket, subprocess, sys, threading, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("OSSAD_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
# what some pages must show (figures: at least that many decoded images; api: show_doc headings; math: typeset formulas)
EXPECT = {"06_losses": {"api": ["deviation", "deviation_loss", "topk_mean"], "math": True},
          "20_plots": {"figures": 4, "api": ["score_histogram", "roc_figure", "per_class_bars", "map_overlay"]},
          "22_widgets": {"figures": 2, "api": ["PseudoGallery", "EmbeddingExplorer"]},   # widget snapshots
          "00_tutorial": {"figures": 5}}
# the pages the docs test builds and checks: the home page, a page of equations and API docs, a page of figures.
# OSSAD_DOCS_DIR=_docs checks a full build made by `python tools/build_docs.py` instead: every page of the sidebar.
DOCS_DIR = os.environ.get("OSSAD_DOCS_DIR")
DOCS_PAGES = ["index", "06_losses", "20_plots"]
if DOCS_DIR:
    from conftest import sidebar_pages
    DOCS_PAGES = [Path(f).stem for f in sidebar_pages()]


def _chromium() -> str:
    for c in [os.environ.get("OSSAD_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")]:
        if c and Path(c).exists(): return c
    msg = "no Chromium found (apt-get install chromium, or set OSSAD_CHROMIUM)"
    if os.environ.get("CI"): pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try: from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"): raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                                         "--disable-background-networking", "--no-first-run"])
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory):
    "Build DOCS_PAGES with tools/build_docs.py (or take $OSSAD_DOCS_DIR) and serve the folder on 127.0.0.1; yields the base URL."
    if DOCS_DIR: out = Path(DOCS_DIR)
    else:
        out, scratch = tmp_path_factory.mktemp("docs"), tmp_path_factory.mktemp("docs-tmp")
        r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--out", str(out), "--only", *DOCS_PAGES],
                           cwd=ROOT, capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, TMPDIR=str(scratch)))   # the notebooks' scratch folders inside pytest's, which it removes
        assert r.returncode == 0, f"docs build failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    missing = [n for n in DOCS_PAGES if not (out / f"{n}.html").exists()]
    assert not missing, f"no page for {missing} in {out}"
    assert (out / "_static" / "mathjax" / "MathJax.js").exists(), "no local MathJax in the docs build (apt-get install libjs-mathjax)"
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _watch(page) -> list[str]:
    "Collect console errors, uncaught exceptions and failed requests of a page."
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return problems


@pytest.mark.parametrize("name", list(DOCS_PAGES))
def test_docs_page(browser, docs_site, name):
    "A docs page loads with no console error or failed request, and shows its figures, equations and API docs."
    want = EXPECT.get(name, {})
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    page.goto(f"{docs_site}/{name}.html", wait_until="networkidle")
    # MathJax typesets after load; wait until its queue is empty
    page.wait_for_function("typeof MathJax === 'undefined' || (MathJax.Hub && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running)",
                           timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"docs_{name}.png"), full_page=False)
    assert problems == [], f"{name}.html: " + "\n".join(problems)
    # the sidebar lists every page of _quarto.yml and marks this one
    assert page.locator("nav.ossad-nav a.current").count() == 1
    assert page.locator("nav.ossad-nav a").count() >= 15
    # figures: PNG outputs that decoded to real pixels
    sizes = page.evaluate("[...document.querySelectorAll('.jp-OutputArea img')].map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) >= want.get("figures", 0), f"{name}: expected at least {want.get('figures')} figures, found {len(sizes)}"
    assert all(w > 50 and h > 50 for w, h in sizes), f"{name}: a figure did not decode: {sizes}"
    if sizes: page.locator(".jp-OutputArea img").first.screenshot(path=str(ARTIFACTS / f"docs_{name}_figure1.png"))
    # API docs: show_doc renders a heading per documented function, with its signature and docstring
    for fn in want.get("api", []):
        head = page.locator(f".jp-Notebook h3[id='{fn}'], .jp-Notebook h4[id='{fn}']")
        assert head.count() >= 1, f"{name}: no API docs heading for {fn}"
    # nothing meant for Quarto or for the notebook shows through: Pandoc link attributes, show_doc calls, widget reprs
    text = page.locator(".jp-Notebook").inner_text()
    for leak in ('{target="_blank"', "show_doc(", "VBox(children="):
        assert leak not in text, f"{name}: the page shows {leak!r}"
    # each API entry's source link points at the line of its definition (nbdev 2 alone writes #LNone)
    links = page.eval_on_selector_all(".jp-Notebook a", "as => as.filter(a => a.textContent.trim() === 'source').map(a => a.href)")
    assert len(links) >= len(want.get("api", [])), f"{name}: {len(links)} source links"
    no_line = [h for h in links if not re.search(r"\.py#L\d+$", h)]
    assert no_line == [], f"{name}: source links without a line: {no_line}"
    if want.get("math"):
        n = page.locator("mjx-chtml, .mjx-chtml").count()
        assert n > 5, f"{name}: MathJax typeset {n} formulas"
        assert page.locator(".MathJax_Error, .mjx-merror, merror").count() == 0, "a formula failed to typeset"
    page.close()


# --- the widgets notebook in JupyterLab --------------------------------------------------------------------------------

def _test_copy(src: Path, dst: Path):
    "The notebook as nbdev_test runs it: no export cells, no cells flagged `slow`, outputs cleared."
    nb = json.loads(src.read_text())
    def keep(c):
        if c["cell_type"] != "code": return True
        s = "".join(c["source"])
        flags = [l.strip()[2:].strip() for l in s.splitlines() if l.strip().startswith("#|")]
        return "nbdev_export(" not in s and "slow" not in flags
    nb["cells"] = [dict(c, outputs=[], execution_count=None) if c["cell_type"] == "code" else c for c in nb["cells"] if keep(c)]
    dst.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    "JupyterLab on 127.0.0.1 over a folder holding a test copy of nbs/22_widgets.ipynb; yields (url, token)."
    pytest.importorskip("jupyterlab")
    work = tmp_path_factory.mktemp("lab")
    _test_copy(ROOT / "nbs" / "22_widgets.ipynb", work / "widgets.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    news = work / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True); news.write_text('{"fetchNews": "false"}')     # no "Jupyter news?" toast over the widgets
    (work / ".tmp").mkdir()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(work / ".runtime"), JUPYTER_CONFIG_DIR=str(work / ".config"),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"),
               TMPDIR=str(work / ".tmp"))   # the kernel's scratch folders (the notebook keeps them outside nbdev_test) inside pytest's, which it removes
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", f"--LabApp.user_settings_dir={work / '.settings'}", f"--LabApp.workspaces_dir={work / '.workspaces'}", "--LabApp.expose_app_in_browser=True",
                             "--ServerApp.port_retries=0", *(["--allow-root"] if os.geteuid() == 0 else []), "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail("JupyterLab did not answer within 60 s")
        assert proc.poll() is None, "JupyterLab exited:\n" + (work / "lab.log").read_text()[-3000:]
        yield url, token
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()
        shutil.copy(work / "lab.log", ARTIFACTS / "jupyterlab.log")


CELL_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = panel.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const outs = c.outputs.toJSON();
    out.push({n: c.executionCount, errors: outs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)});
  }
  return {cells: out, kernel: panel.sessionContext.session ? panel.sessionContext.session.kernel.status : 'none'};
}"""


def test_widgets_notebook_in_jupyterlab(browser, jupyterlab):
    "The widgets notebook runs in JupyterLab, and moving the gallery's slider changes the picture it shows."
    url, token = jupyterlab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    uncaught = []
    page.on("pageerror", lambda e: uncaught.append(str(e)))
    page.goto(f"{url}/lab/tree/widgets.ipynb?token={token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.sessionContext && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    t0, state = time.time(), None
    while time.time() - t0 < 420:                       # every code cell executed and the kernel idle again
        state = page.evaluate(CELL_STATE)
        if state and state["kernel"] == "idle" and all(c["n"] is not None for c in state["cells"]): break
        if state and any(c["errors"] for c in state["cells"]): break
        page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "lab_after_run_all.png"))
    assert state is not None, "JupyterLab showed no notebook"
    errors = [e for c in state["cells"] for e in c["errors"]]
    assert errors == [], f"the widgets notebook raised: {errors}"
    assert all(c["n"] is not None for c in state["cells"]), f"not every cell ran within 7 min: {state}"
    # the first gallery: its slider "first image" and the picture it draws
    gallery = page.locator(".widget-vbox", has=page.locator(".widget-label", has_text="first image")).first
    slider = gallery.locator(".widget-slider", has=page.locator(".widget-label", has_text="first image")).first
    img = gallery.locator("img.widget-image").first
    img.scroll_into_view_if_needed()
    readout = slider.locator(".widget-readout")
    text = lambda loc: loc.evaluate("el => el.value !== undefined ? el.value : el.textContent").strip()
    before_value, before_src = text(readout), img.get_attribute("src")
    gallery.screenshot(path=str(ARTIFACTS / "lab_gallery_before.png"))
    handle = slider.locator(".noUi-handle")
    handle.focus(); page.keyboard.press("ArrowLeft"); page.keyboard.press("ArrowLeft")
    page.wait_for_function("([el, src]) => el.getAttribute('src') !== src", arg=[img.element_handle(), before_src], timeout=30_000)
    gallery.screenshot(path=str(ARTIFACTS / "lab_gallery_after.png"))
    after_value = text(readout)
    assert int(after_value) == int(before_value) - 2, (before_value, after_value)
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size[0] > 100 and size[1] > 100, f"the gallery picture did not decode: {size}"
    assert uncaught == [], f"uncaught errors in JupyterLab: {uncaught}"
    page.close()

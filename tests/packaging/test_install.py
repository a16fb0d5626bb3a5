"""spikemem installs and imports the same way from a wheel and from the editable install.

``spikemem.backends`` lives in the top-level folder ``backends/`` and reaches its place through
``[tool.setuptools.package-dir]``; a mapping like that can work in one kind of install and not in
the other, and a subpackage missing from ``[tool.setuptools] packages`` is silently left out of
wheels. So these tests

* check that ``packages`` lists exactly the folders with an ``__init__.py`` under the package
  roots, and that a wheel holds every ``.py`` file of those folders;
* build a wheel (``pip wheel --no-deps``, with pip's normal build isolation, from a copy of the
  source so the checkout gets no ``build/`` folder), install it with ``--no-deps`` into a fresh
  venv, and run one probe script there and in the project's own (editable) interpreter. The probe
  imports ``spikemem``, ``spikemem.spec`` and ``spikemem.backends``, then every module named in
  the backend registry, and reports where they came from and which simulators got imported.

The throw-away venv is created from the project's base interpreter with
``--system-site-packages`` and, after the wheel is installed, a ``.pth`` file that appends the
project venv's site-packages, so numpy (and the simulators, for the registry modules) resolve
there, while ``spikemem`` itself can only come from the wheel: ``.pth`` files of an appended
directory are not executed, so the editable install's import hook stays inactive.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SIMULATORS = ("torch", "brian2", "lava", "snntorch")
EXPECTED_BACKENDS = {"reference", "brian2", "snntorch", "lava"}
# Top-level entries of the checkout that a wheel build does not need (big, or build products).
NOT_COPIED = {".venv", ".git", "build", "dist", "results", "runs", ".spikemem-cache", ".pytest_cache", ".ruff_cache"}
TIMEOUT_S = 300

PROBE = rf"""
import importlib, importlib.metadata, json, sys, sysconfig

SIMULATORS = {SIMULATORS!r}

def simulators_loaded():
    return sorted({{name.split(".")[0] for name in sys.modules}} & set(SIMULATORS))

import spikemem, spikemem.backends, spikemem.spec
report = {{
    "prefix": sys.prefix,
    "purelib": sysconfig.get_paths()["purelib"],
    "spikemem": spikemem.__file__,
    "spikemem.backends": spikemem.backends.__file__,
    "spikemem.spec": spikemem.spec.__file__,
    "simulators_after_import": simulators_loaded(),
}}
from spikemem.backends import _REGISTRY
registry = {{}}
for name, target in _REGISTRY.items():
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        getattr(module, class_name)
        registry[name] = {{"target": target, "error": None, "file": module.__file__}}
    except Exception as exc:
        registry[name] = {{"target": target, "error": f"{{type(exc).__name__}}: {{exc}}", "file": None}}
report["registry"] = registry
report["simulators_after_backend_modules"] = simulators_loaded()
scripts = {{ep.name: ep for ep in importlib.metadata.entry_points(group="console_scripts")}}
try:
    scripts["spikemem"].load()
    report["console_script"] = None
except Exception as exc:
    report["console_script"] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps(report))
"""


# ------------------------------------------------------------------ helpers
def _package_dir(package: str) -> Path:
    """Source folder of ``package`` under ``[tool.setuptools.package-dir]`` (longest prefix wins)."""
    mapping: dict[str, str] = PYPROJECT["tool"]["setuptools"].get("package-dir", {})
    parts = package.split(".")
    for cut in range(len(parts), -1, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            return ROOT / mapping[prefix] / Path(*parts[cut:])
    return ROOT / Path(*parts)


def _listed_packages() -> list[str]:
    return list(PYPROJECT["tool"]["setuptools"]["packages"])


def _package_roots() -> dict[Path, str]:
    """Source folder -> package name, for each top-level package and each package-dir mapping."""
    names = {p for p in _listed_packages() if "." not in p}
    names |= set(PYPROJECT["tool"]["setuptools"].get("package-dir", {})) - {""}
    return {_package_dir(name): name for name in names}


def _packages_on_disk() -> dict[str, Path]:
    """Every folder with an ``__init__.py`` under the package roots, by its package name."""
    found: dict[str, Path] = {}
    for root, name in _package_roots().items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
                continue
            found[".".join([name, *rel.parts])] = init.parent
    return found


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        noise = "is ignored: it is neither a file nor a directory"
        out = "\n".join(line for line in (result.stdout + result.stderr).splitlines() if noise not in line)
        pytest.fail(f"{' '.join(cmd)} failed with exit {result.returncode}:\n{out[-4000:]}")
    return result


def _probe(python: str, cwd: Path) -> dict:
    """Run the probe with ``python -I`` (no cwd or PYTHONPATH on sys.path) from ``cwd``."""
    return json.loads(_run([python, "-I", "-c", PROBE], cwd).stdout.strip().splitlines()[-1])


def _inside(path: str, folder: str | Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout, the way ``pip wheel .`` builds it."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for entry in ROOT.iterdir():
        if entry.name in NOT_COPIED or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, src / entry.name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(entry, src / entry.name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(src)], work)
    wheels = list((work / "dist").glob("spikemem-*.whl"))
    assert len(wheels) == 1, f"expected one spikemem wheel, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_report(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The probe's report from a fresh venv with only the wheel installed (``--no-deps``)."""
    work = tmp_path_factory.mktemp("wheelenv")
    env_dir = work / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=os.name != "nt").create(env_dir)
    python = str(env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    # pip of the project's interpreter installs into the new venv (--python, pip >= 22.3).
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", str(wheel)], work)
    purelib = _run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work)
    project_purelib = sysconfig.get_paths()["purelib"]
    Path(purelib.stdout.strip(), "_spikemem_test_deps.pth").write_text(project_purelib + "\n", encoding="utf-8")
    report = _probe(python, work)
    report["venv"] = str(env_dir)
    return report


@pytest.fixture(scope="module")
def editable_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The probe's report from the project's own interpreter (spikemem installed editable)."""
    return _probe(sys.executable, tmp_path_factory.mktemp("editable"))


# ------------------------------------------------------------------ tests
def test_every_package_folder_is_listed_in_pyproject() -> None:
    on_disk = _packages_on_disk()
    listed = _listed_packages()
    assert {"spikemem", "spikemem.spec", "spikemem.backends"} <= set(on_disk), on_disk
    missing = sorted(set(on_disk) - set(listed))
    assert not missing, (
        f"folders with an __init__.py that pyproject.toml [tool.setuptools] packages does not list "
        f"(a wheel would leave them out): {missing}"
    )
    stale = sorted(p for p in listed if not (_package_dir(p) / "__init__.py").is_file())
    assert not stale, f"pyproject.toml lists packages with no __init__.py: {stale}"
    assert len(listed) == len(set(listed)), f"duplicates in packages: {listed}"


def test_wheel_holds_every_source_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "/".join([*package.split("."), path.name])
        for package, folder in _packages_on_disk().items()
        for path in folder.iterdir()
        if path.is_file() and path.suffix == ".py"
    }
    assert not sorted(expected - names), f"files missing from the wheel: {sorted(expected - names)}"
    assert not [n for n in names if n.startswith(("backends/", "tests/"))], "stray top-level folders in the wheel"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "spikemem = spikemem.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_install_imports_from_its_site_packages(wheel_report: dict) -> None:
    for module in ("spikemem", "spikemem.backends", "spikemem.spec"):
        assert _inside(wheel_report[module], wheel_report["purelib"]), (module, wheel_report[module])
        assert not _inside(wheel_report[module], ROOT), f"{module} came from the checkout: {wheel_report[module]}"
    assert Path(wheel_report["spikemem.backends"]).parent == Path(wheel_report["purelib"], "spikemem", "backends")


def test_editable_install_imports_from_the_checkout(editable_report: dict) -> None:
    assert Path(editable_report["spikemem"]).resolve() == ROOT / "spikemem" / "__init__.py"
    assert Path(editable_report["spikemem.backends"]).resolve() == ROOT / "backends" / "__init__.py"
    assert Path(editable_report["spikemem.spec"]).resolve() == ROOT / "spikemem" / "spec" / "__init__.py"


@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_every_registered_backend_module_imports(install: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(f"{install}_report")
    registry = report["registry"]
    assert EXPECTED_BACKENDS <= set(registry), f"registry lacks backends: {sorted(EXPECTED_BACKENDS - set(registry))}"
    failed = {name: entry["error"] for name, entry in registry.items() if entry["error"]}
    assert not failed, f"registered backend modules that do not import ({install} install): {failed}"
    where = report["purelib"] if install == "wheel" else ROOT / "backends"
    outside = {name: e["file"] for name, e in registry.items() if e["file"] and not _inside(e["file"], where)}
    assert not outside, f"backend modules not imported from {where}: {outside}"


@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_imports_load_no_simulator(install: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(f"{install}_report")
    assert report["simulators_after_import"] == [], "import spikemem, spikemem.backends, spikemem.spec"
    assert report["simulators_after_backend_modules"] == [], (
        "importing the backend modules must not import their simulator (import it inside functions)"
    )


@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_console_script_target_loads(install: str, request: pytest.FixtureRequest) -> None:
    assert request.getfixturevalue(f"{install}_report")["console_script"] is None


def test_wheel_and_editable_agree(wheel_report: dict, editable_report: dict) -> None:
    def summary(report: dict) -> dict:
        return {name: (e["target"], e["error"], Path(e["file"] or "").name) for name, e in report["registry"].items()}

    assert summary(wheel_report) == summary(editable_report)
    assert wheel_report["simulators_after_import"] == editable_report["simulators_after_import"]

"""Run mypy or import-linter on spikemem laid out as installed, with ``backends/`` as ``spikemem.backends``.

``pyproject.toml`` maps the package ``spikemem.backends`` to the top-level ``backends/`` folder
(``[tool.setuptools.package-dir]``). An editable install resolves that mapping with an import hook, which
static tools cannot follow: mypy and import-linter (grimp) read ``spikemem/`` and never see the backends.
This script builds ``build/installed-layout/spikemem/``, a tree of symbolic links (each entry of
``spikemem/`` plus one link per ``package-dir`` entry), then runs the tool in ``build/installed-layout``
with that folder first on ``PYTHONPATH``. Paths in the tool's output are written back as paths of the
checkout (``spikemem/backends/x.py`` -> ``backends/x.py``), so editors and ``file:line`` links work.

Usage (from anywhere, with the venv's Python; further arguments go to the tool)::

    python scripts/installed_layout.py mypy            # [tool.mypy] of pyproject.toml
    python scripts/installed_layout.py lint-imports    # [tool.importlinter] of pyproject.toml

Each tool reads the checkout's ``pyproject.toml``. Exit status: the tool's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "build" / "installed-layout"
PACKAGE = "spikemem"


def package_dirs(root: Path) -> dict[str, str]:
    """``[tool.setuptools.package-dir]`` of ``root/pyproject.toml``: dotted package name -> folder."""
    with open(root / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)
    return dict(config.get("tool", {}).get("setuptools", {}).get("package-dir", {}))


def build_layout(root: Path = ROOT, layout: Path = LAYOUT) -> dict[Path, Path]:
    """Recreate ``layout/spikemem`` as links into ``root``; return {path in layout: path in root} per mapping."""
    target = layout / PACKAGE
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for entry in sorted((root / PACKAGE).iterdir()):
        if entry.name != "__pycache__":
            (target / entry.name).symlink_to(entry)
    mapped = {target: root / PACKAGE}
    for name, folder in package_dirs(root).items():
        parts = name.split(".")
        if parts[0] != PACKAGE or len(parts) < 2:
            continue
        link = layout.joinpath(*parts)
        if link.is_symlink() or link.exists():
            raise SystemExit(f"installed_layout: {name} maps to {folder} but spikemem/ has that entry too")
        link.symlink_to(root / folder)
        mapped[link] = root / folder
    return mapped


def checkout_paths(text: str, mapped: dict[Path, Path], layout: Path = LAYOUT, root: Path = ROOT) -> str:
    """``text`` with every path inside ``layout`` written as the path of the same file in the checkout."""
    # The longest (most specific) link first: spikemem/backends/ before spikemem/.
    for link, source in sorted(mapped.items(), key=lambda item: -len(str(item[0]))):
        relative_link = link.relative_to(layout).as_posix()
        relative_source = source.relative_to(root).as_posix()
        text = text.replace(str(link) + os.sep, str(source) + os.sep)
        text = re.sub(rf"(^|[\s\"'(]){re.escape(relative_link)}/", rf"\g<1>{relative_source}/", text, flags=re.M)
    return text


TOOLS: dict[str, tuple[list[str], str]] = {
    "mypy": (["-m", "mypy"], "--config-file"),
    "lint-imports": (
        ["-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        "--config",
    ),
}
"""Tool name -> (how this Python runs it, its option naming the configuration file)."""


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TOOLS:
        print(__doc__, file=sys.stderr)
        return 2
    runner, config_option = TOOLS[argv[0]]
    mapped = build_layout()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LAYOUT), env.get("PYTHONPATH")]))
    command = [sys.executable, *runner, config_option, str(ROOT / "pyproject.toml"), *argv[1:]]
    result = subprocess.run(command, cwd=LAYOUT, env=env, capture_output=True, text=True)
    sys.stdout.write(checkout_paths(result.stdout, mapped))
    sys.stderr.write(checkout_paths(result.stderr, mapped))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

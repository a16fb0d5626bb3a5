#!/usr/bin/env bash
# Create or reuse the project's virtual environment (.venv, Python 3.10) and install
# spikemem editable with every extra: `pip install -e ".[all,dev]" -c scripts/constraints.txt`.
#
# Idempotent: the venv holds a stamp with a hash of pyproject.toml, scripts/constraints.txt,
# the extras and the Python version. When the stamp matches and the venv passes a quick health
# check (Python 3.10 runs, the key distributions are installed, spikemem is installed editable
# from this checkout), nothing is installed and the script returns in about a second.
#
# Python 3.10 is looked for, in this order: $PYTHON; python3.10, python3, python on PATH (each
# is run, so a pyenv shim with no version chosen is skipped); every 3.10.x that pyenv knows
# (`pyenv prefix`); common install locations; `uv python find 3.10`.
#
# pip's full output goes to .venv/setup-pip.log (on a terminal a one-line progress count is shown);
# on failure the end of the log is printed, without the hundreds of "WARNING: Location ... is
# ignored" lines that some pip configurations (find-links / local indexes) produce.
#
# Environment: PYTHON (interpreter to use when the venv is created), SPIKEMEM_SETUP_FORCE=1
# (reinstall even when the stamp matches), CI (print more of the log on failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/.venv"
VPY="$VENV/bin/python"
EXTRAS="all,dev"
CONSTRAINTS="$ROOT/scripts/constraints.txt"
STAMP="$VENV/.spikemem-setup-stamp"
LOG="$VENV/setup-pip.log"
# Distributions that `.[all,dev]` must have put into the venv (checked without importing them).
REQUIRED_DISTS=(spikemem numpy torch snntorch brian2 lava-nc nir pytest ruff mypy import-linter hypothesis ray neurobench torchaudio)

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
export PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-120}"

say() { printf 'spikemem setup: %s\n' "$*"; }
die() { printf 'spikemem setup: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- finding Python 3.10
is_py310() {  # the interpreter runs and is CPython 3.10 (a pyenv shim without a version fails here)
    [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' \
        </dev/null >/dev/null 2>&1
}

real_executable() { "$1" -c 'import sys; print(sys.executable)' </dev/null 2>/dev/null; }

find_python310() {
    local cand v prefix pyenv_bin
    if [ -n "${PYTHON:-}" ]; then
        is_py310 "$PYTHON" || die "PYTHON=$PYTHON is not a working Python 3.10 interpreter"
        real_executable "$PYTHON"; return 0
    fi
    for cand in python3.10 python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && is_py310 "$cand"; then
            real_executable "$cand"; return 0
        fi
    done
    pyenv_bin="$(command -v pyenv 2>/dev/null || true)"
    if [ -z "$pyenv_bin" ] && [ -x "${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv" ]; then
        pyenv_bin="${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv"
    fi
    if [ -n "$pyenv_bin" ]; then
        for v in $("$pyenv_bin" versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -t. -k3,3nr); do
            prefix="$("$pyenv_bin" prefix "$v" 2>/dev/null || true)"
            if is_py310 "$prefix/bin/python3.10"; then echo "$prefix/bin/python3.10"; return 0; fi
        done
    fi
    for cand in /usr/bin/python3.10 /usr/local/bin/python3.10 /opt/homebrew/bin/python3.10 \
        /opt/homebrew/opt/python@3.10/bin/python3.10 /usr/local/opt/python@3.10/bin/python3.10; do
        if is_py310 "$cand"; then echo "$cand"; return 0; fi
    done
    if command -v uv >/dev/null 2>&1; then
        cand="$(uv python find 3.10 2>/dev/null || true)"
        if is_py310 "$cand"; then echo "$cand"; return 0; fi
    fi
    return 1
}

no_python310() {
    cat >&2 <<'EOF'
spikemem setup: ERROR: Python 3.10 was not found.
spikemem's development environment needs CPython 3.10 (lava-nc 0.10 runs only on 3.10).
Looked for: $PYTHON, python3.10 / python3 / python on PATH, pyenv's 3.10.x versions,
/usr/bin, /usr/local/bin, Homebrew, and `uv python find 3.10`. Install Python 3.10 with one of:
    pyenv install 3.10                              # https://github.com/pyenv/pyenv
    uv python install 3.10                          # https://docs.astral.sh/uv/
    sudo apt install python3.10 python3.10-venv     # Debian/Ubuntu (deadsnakes PPA on newer releases)
    brew install python@3.10                        # macOS
then run the command again, or name the interpreter: PYTHON=/path/to/python3.10 make setup
EOF
    exit 1
}

# ---------------------------------------------------------------- state of the venv
setup_hash() {  # what the installed venv depends on; a change triggers a reinstall
    "$VPY" - "$ROOT/pyproject.toml" "$CONSTRAINTS" "$EXTRAS" <<'EOF'
import hashlib, sys
h = hashlib.sha256()
for path in sys.argv[1:3]:
    with open(path, "rb") as f:
        h.update(f.read())
h.update(sys.argv[3].encode())
h.update(sys.version.encode())
print(h.hexdigest())
EOF
}

health_problem() {  # prints what is wrong with the installed venv; empty when healthy
    "$VPY" - "$ROOT" "${REQUIRED_DISTS[@]}" <<'EOF' 2>&1 || true
import importlib.metadata as md, importlib.util, os, sys
root, dists = os.path.realpath(sys.argv[1]), sys.argv[2:]
missing = []
for name in dists:
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
if missing:
    print("missing distributions: " + ", ".join(missing))
    sys.exit()
spec = importlib.util.find_spec("spikemem")
origin = os.path.realpath(spec.origin) if spec and spec.origin else ""
if not origin.startswith(root + os.sep):
    print(f"spikemem is not installed editable from {root} (found {origin or 'nothing'})")
EOF
}

venv_python_ok() { [ -x "$VPY" ] && is_py310 "$VPY"; }
venv_pip_ok() { "$VPY" -m pip --version </dev/null >/dev/null 2>&1; }

# ---------------------------------------------------------------- installing
pip_install() {
    local start status filter_progress=0
    [ -t 1 ] && filter_progress=1
    start=$(date +%s)
    if [ "${1:-}" = new ]; then
        say "installing spikemem -e \".[$EXTRAS]\" into the new venv with pip: about 3 minutes, ~7 GB with torch"
    else
        say "installing spikemem -e \".[$EXTRAS]\" with pip"
    fi
    say "  (full log: ${LOG#"$ROOT"/})"
    set +e
    ( cd "$ROOT" && "$VPY" -m pip install -c "$CONSTRAINTS" -e ".[$EXTRAS]" ) </dev/null 2>&1 \
        | tee "$LOG" \
        | awk -v tty="$filter_progress" '
            /^(Collecting|Processing|Requirement already satisfied)/ {
                n++
                if (tty) { printf "\r  %d requirements resolved", n; fflush() }
                else if (n % 25 == 0) { printf "  %d requirements resolved\n", n; fflush() } }
            END { if (tty && n) printf "\n" }'
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        local lines=40
        [ -n "${CI:-}" ] && lines=200
        echo "spikemem setup: ERROR: pip install failed (exit $status). Last $lines lines of $LOG:" >&2
        grep -v -E "^WARNING: Location '.*' is ignored" "$LOG" | tail -n "$lines" >&2
        exit "$status"
    fi
    local installed
    installed=$(grep -E '^Successfully installed ' "$LOG" | tail -n 1 | wc -w)
    [ "$installed" -gt 0 ] && installed=$((installed - 2))
    say "pip finished in $(( $(date +%s) - start )) s ($installed distributions installed or updated)"
}

main() {
    [ -f "$ROOT/pyproject.toml" ] || die "no pyproject.toml in $ROOT"
    if command -v flock >/dev/null 2>&1; then  # two `make` calls at once must not install twice
        exec 9>"$ROOT/.venv.lock"
        flock -w 1800 9 || die "another setup holds $ROOT/.venv.lock for more than 30 minutes"
    fi

    local reason="" state=existing
    if venv_python_ok; then
        local want have="" problem
        want="$(setup_hash)"
        [ -f "$STAMP" ] && have="$(cat "$STAMP")"
        problem="$(health_problem)"
        if [ "$want" = "$have" ] && [ -z "$problem" ] && [ "${SPIKEMEM_SETUP_FORCE:-0}" != 1 ]; then
            say ".venv is up to date ($("$VPY" -c 'import platform; print("Python", platform.python_version())'))"
            return 0
        fi
        if [ "${SPIKEMEM_SETUP_FORCE:-0}" = 1 ]; then reason="SPIKEMEM_SETUP_FORCE=1"
        elif [ -n "$problem" ]; then reason="$problem"
        elif [ -z "$have" ]; then reason="no setup stamp yet"
        else reason="pyproject.toml or scripts/constraints.txt changed"; fi
        say "updating .venv: $reason"
        venv_pip_ok || state=broken
    else
        state=broken
    fi
    if [ "$state" = broken ]; then
        if [ -e "$VENV" ] || [ -L "$VENV" ]; then
            say ".venv exists but is not a working Python 3.10 venv with pip: removing and recreating it"
            rm -rf "$VENV"
        fi
        local py
        state=new
        py="$(find_python310)" || { [ -n "${PYTHON:-}" ] && exit 1; no_python310; }
        say "creating .venv with $py ($("$py" -c 'import platform; print(platform.python_version())'))"
        "$py" -m venv "$VENV" </dev/null && venv_pip_ok \
            || die "'$py -m venv' failed; on Debian/Ubuntu install the venv module: sudo apt install python3.10-venv"
    fi

    rm -f "$STAMP"
    pip_install "$state"
    local problem
    problem="$(health_problem)"
    [ -z "$problem" ] || die "pip succeeded but the venv is incomplete: $problem (log: $LOG)"
    setup_hash >"$STAMP"
    say "ready: $VENV ($("$VPY" -c 'import platform; print("Python", platform.python_version())'))"
}

# Run only when executed, so tests can source the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi

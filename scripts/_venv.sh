# Shared helper for scripts/test and scripts/demo; sourced, not run.
# ensure_venv EXTRAS: create .venv if needed and install the package in
# editable mode with the given extras. The install is skipped when the
# packaging files have not changed since the last install with the same
# extras, so re-running a script is cheap.

export PIP_DISABLE_PIP_VERSION_CHECK=1

# pip prints one line per package it collects: a first install takes minutes and
# should show it is alive, without pip's download bars and build chatter.
_pip_progress() {
    grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed|ERROR|error)' \
        | sed -u -e 's/^/   /' || true
}

# Run a command, printing a line every 5 s until it ends, so a long quiet step (creating
# the environment, pip building or installing) still shows the script is alive.
_ticking() {
    local status=0 ticker
    (
        elapsed=0
        while sleep 5 >/dev/null 2>&1 && kill -0 $$ 2>/dev/null; do
            elapsed=$((elapsed + 5))
            echo "   ... still working (${elapsed} s)"
        done
    ) &
    ticker=$!
    "$@" || status=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    return "$status"
}

# pip, showing only its progress lines; its exit status is the result.
_pip_quietly() {
    # setuptools warns about every editable install ("Editable installation ... folders
    # with the same name as your package"); that is the point of one, so the warning
    # block is noise for someone running the scripts.
    PYTHONWARNINGS="ignore:Editable installation" .venv/bin/pip "$@" 2>&1 | _pip_progress
}

_pip() {
    _ticking _pip_quietly "$@"
}

ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"

    if [ ! -x .venv/bin/python ]; then
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
            echo "error: gntplib needs Python 3.9 or newer ($python is older)" >&2
            exit 1
        fi
        echo "-- creating .venv with $python"
        rm -rf .venv
        _ticking "$python" -m venv .venv
        _pip install --upgrade pip
    fi

    local stamp=".venv/.gntplib-installed-${extras//,/-}"
    local digest
    digest="$(.venv/bin/python - <<'PY'
import hashlib
h = hashlib.sha256()
for name in ("setup.cfg", "setup.py", "pyproject.toml"):
    try:
        with open(name, "rb") as f:
            h.update(f.read())
    except FileNotFoundError:
        pass
print(h.hexdigest())
PY
)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "-- installing gntplib[$extras] into .venv"
        if ! _pip install -e ".[$extras]"; then
            echo "error: installing gntplib[$extras] failed (run .venv/bin/pip install -e '.[$extras]' to see why)" >&2
            exit 1
        fi
        echo "$digest" > "$stamp"
    fi
}

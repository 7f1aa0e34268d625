# Shared helper for scripts/test and scripts/demo; sourced, not run.
# ensure_venv EXTRAS: create .venv if needed and install the package in
# editable mode with the given extras. The install is skipped when the
# packaging files have not changed since the last install with the same
# extras, so re-running a script is cheap.

export PIP_DISABLE_PIP_VERSION_CHECK=1

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
        "$python" -m venv .venv
        .venv/bin/pip install -q --upgrade pip
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
        .venv/bin/pip install -q -e ".[$extras]"
        echo "$digest" > "$stamp"
    fi
}

# Sourced by scripts/demo and scripts/test: create or update the project's .venv from uv.lock.
# Installs uv with pip first when it is missing; uses this machine's Python and CA bundle.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
if [ -z "${SSL_CERT_FILE:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
fi
if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "installing uv (the package manager) ..." >&2
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
fi
# Bytecode compiled once here: this machine kind sets PYTHONDONTWRITEBYTECODE, so otherwise every
# process (each of stage 2's workers too) compiles its imports again, and S's 2 s solves took
# 1.81-2.15 s against 1.77-1.90 s compiled (2026-12-04). uv compiles the packages it
# installs (14 s the first time, nothing after); the project's own modules follow.
python3 -m uv sync --frozen --quiet --compile-bytecode "$@"
.venv/bin/python -m compileall -q planner models app.py >/dev/null

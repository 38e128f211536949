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
python3 -m uv sync --frozen --quiet "$@"

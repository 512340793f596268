#!/usr/bin/env bash
# Creates (once) the project-local Python virtualenv with the independent Iceberg
# readers the interop tests use: PyIceberg and DuckDB with its iceberg extension.
# Idempotent: a stamp file records the requirement set that was installed.
# Usage: test/infra/python-env.sh   → prints the venv's python path on stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${KICE_VENV:-$root/.venv}"
req="$root/test/infra/requirements.txt"
stamp="$venv/.kice-requirements"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv/bin/python"

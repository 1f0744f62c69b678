#!/usr/bin/env bash
# Create (or refresh) the project's development environment in .venv:
# layerplan installed editable with its test dependencies. Idempotent and quick when
# nothing changed. Prints nothing but errors unless VERBOSE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
stamp=.venv/.layerplan-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -e ".[test]"
  touch "$stamp"
fi
# The editable sources' bytecode, as an installed package has it: with PYTHONDONTWRITEBYTECODE
# set (many CI images) every run would compile them again. Quick when up to date.
.venv/bin/python -m compileall -q src >/dev/null

#!/usr/bin/env bash
# Run the whole test suite, as CI does.
#
# 1. creates/refreshes .venv (layerplan editable + test tools),
# 2. starts the real components the tests use when this machine allows it (root on
#    Debian): dockerd (no bridge, no iptables), OCI registries on 127.0.0.1, and the
#    debootstrap-built Python base image — see scripts/test-engine.sh,
# 3. runs pytest (extra arguments are passed on, e.g. `-k plan` or `-x`).
#
# Set LAYERPLAN_NO_ENGINE=1 to skip step 2 (engine tests then skip, saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
if [ "${LAYERPLAN_NO_ENGINE:-0}" != 1 ] && [ -f scripts/test-engine.sh ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    bash scripts/test-engine.sh start
    eval "$(bash scripts/test-engine.sh env)"
  else
    echo "note: not root on Debian: the engine tests will skip unless the engine is already running" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"

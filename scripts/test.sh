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
# Set LAYERPLAN_TEST_ARM64=1 to also make the arm64 base and qemu binfmt (start --with-arm64,
# about 3 minutes once): the multi-platform test that runs an arm64 image needs them (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
if [ "${LAYERPLAN_NO_ENGINE:-0}" != 1 ] && [ -f scripts/test-engine.sh ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ "${LAYERPLAN_TEST_ARM64:-0}" = 1 ]; then
      bash scripts/test-engine.sh start --with-arm64
    else
      bash scripts/test-engine.sh start
    fi
    eval "$(bash scripts/test-engine.sh env)"
  else
    echo "note: not root on Debian: the engine tests will skip unless the engine is already running" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"

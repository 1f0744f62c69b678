#!/usr/bin/env bash
# The main job: plan the example project's image and show why each layer exists.
# (Sets up .venv on first use.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
.venv/bin/layerplan plan example-project "$@"

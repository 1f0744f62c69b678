#!/usr/bin/env bash
# The main job: build the example project's image with layerplan, then run it.
#
# 1. sets up .venv (layerplan editable),
# 2. starts the local engine, registry and Python base image (scripts/test-engine.sh;
#    no public registry is reachable from this machine, so the base is built locally),
# 3. shows the layer plan (its target read from the base, as the build reads it), builds
#    the image directly (no Dockerfile, no daemon in the build), pushes it to the local
#    registry and loads it into the engine,
# 4. runs it with no network.
#
# Extra arguments go to `layerplan build` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
bash scripts/test-engine.sh start
eval "$(bash scripts/test-engine.sh env)"
image="$LAYERPLAN_TEST_REGISTRY/layerplan-example:latest"
.venv/bin/layerplan plan example-project --base "$LAYERPLAN_TEST_BASE"
.venv/bin/layerplan build example-project \
  --base "$LAYERPLAN_TEST_BASE" \
  --output "docker://$image" \
  --output "docker-daemon:layerplan-example:latest" \
  "$@"
echo "--- docker run --rm --network none layerplan-example:latest"
docker run --rm --network none layerplan-example:latest

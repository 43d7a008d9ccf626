#!/usr/bin/env bash
# Full reset of the compose deployment: stop everything and DELETE its data
# (scripts/stop.sh no), then build and start again (scripts/start.sh, same arguments).
# Usage: scripts/reset.sh [--monitoring] [--no-smoke]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "reset: deleting the deployment's data and starting again"
bash scripts/stop.sh no
bash scripts/start.sh "$@"

#!/usr/bin/env bash
# Sets up what the app needs, builds it, and opens it on the example workspace
# (or on the workspace given: scripts/run-app.sh --workspace PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh app
npm --prefix ui run build
exec cargo run -p kovan-desktop -- "$@"

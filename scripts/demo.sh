#!/usr/bin/env bash
# ONE command for a new user: install what is missing, build, run the main job on the embedded data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/apps/spikecast/spikecast demo "$@"

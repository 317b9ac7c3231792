#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole default test suite through ctest.
#   scripts/test.sh          the default suite (well under 10 minutes on 2 cores)
#   scripts/test.sh --slow   also the long cases (Catch2 tag [slow], ctest label "slow")
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
if [ "${1:-}" = "--slow" ]; then
  ctest --output-on-failure -j2
else
  ctest --output-on-failure -j2 -LE slow
fi

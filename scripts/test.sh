#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole default test suite through ctest.
#   scripts/test.sh             the default suite (well under 10 minutes on 2 cores)
#   scripts/test.sh --slow      also the slow cases (Catch2 tag [.slow], ctest label "slow") and
#                               the fuzz driver (ctest label "fuzz")
#   scripts/test.sh --sanitize  the default suite and the fuzz label under AddressSanitizer and
#                               UndefinedBehaviorSanitizer, built into build-sanitize/ (any
#                               sanitizer report fails the test that caused it)
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
S2S_WITH_TESTS=1 scripts/install-deps.sh
case "${1:-}" in
  --sanitize)
    cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS2S_SANITIZE=ON >/dev/null
    cmake --build build-sanitize -j"$(nproc)"
    cd build-sanitize
    # allocator_may_return_null: an allocation too large for the machine throws std::bad_alloc,
    # as without ASan (the tests check the message it becomes).
    # fast_unwind_on_malloc=0: whole stacks for every allocation, so that a leak inside an Open
    # MPI plugin (a frame of an unloaded module) still shows the named libraries above it that
    # the suppressions match.
    export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:check_initialization_order=1:fast_unwind_on_malloc=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$PWD/../tests/sanitizer/lsan.supp:print_suppressions=0"
    # Open MPI's shared-memory transport trips ASan's checks of its own mappings: TCP instead.
    export OMPI_MCA_btl="self,tcp"
    export OMPI_MCA_mca_base_component_disable_dlclose=1  # plugins stay loaded, and named
    ctest --output-on-failure -j2 -LE slow
    ;;
  --slow)
    scripts/build.sh
    cd build
    ctest --output-on-failure -j2
    ;;
  "")
    scripts/build.sh
    cd build
    ctest --output-on-failure -j2 -LE "slow|fuzz"
    ;;
  *)
    echo "usage: scripts/test.sh [--slow | --sanitize]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Quick start: install dependencies, build, and run every test (GoogleTest + end-to-end) via CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900 "$@"

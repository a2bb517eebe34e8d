#!/usr/bin/env bash
# Quick start: install dependencies, build, and run `ollama serve` (OLLAMA_HOST etc. apply).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/ollama serve

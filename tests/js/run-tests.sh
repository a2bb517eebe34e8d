#!/bin/sh
# CTest entry for js.clients: runs `node --test` here; exits 77 (CTest skip) when node or the
# npm packages are missing, so machines without Node.js still pass the suite.
cd "$(dirname "$0")" || exit 1
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"
  exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "SKIP: node $(node --version) is older than 20"
  exit 77
fi
if [ ! -f node_modules/ollama/package.json ] || [ ! -f node_modules/openai/package.json ]; then
  echo "SKIP: npm packages missing; run scripts/install-deps.sh (npm ci in tests/js)"
  exit 77
fi
exec node --test "$@"

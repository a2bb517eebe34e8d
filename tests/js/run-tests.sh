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
missing_pkg=""
for p in ollama openai ai @ai-sdk/openai-compatible @ai-sdk/openai @ai-sdk/anthropic \
    @anthropic-ai/sdk @langchain/ollama @langchain/core zod; do
  [ -f "node_modules/$p/package.json" ] || missing_pkg="$missing_pkg $p"
done
if [ -n "$missing_pkg" ]; then
  echo "SKIP: npm packages missing; run scripts/install-deps.sh (npm ci in tests/js)"
  exit 77
fi
exec node --test "$@"

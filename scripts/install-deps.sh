#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages (ARCHITECTURE.md §3).
# Safe to run any number of times: packages already present are skipped.
set -euo pipefail
PKGS=(cmake g++ make ninja-build pkg-config ccache git python3 python3-cryptography
  libcpp-httplib-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev libpcre2-dev
  libutf8proc-dev libcli11-dev libedit-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  docker-registry apache2-utils nodejs npm
  clang-14 libclang-rt-14-dev llvm-14  # tests/fuzz: libFuzzer + sanitizers, llvm-symbolizer
  libvulkan-dev glslc mesa-vulkan-drivers  # the gpu part; its tests run on Mesa's lavapipe
  nginx libnginx-mod-http-js  # tests/e2e/test_replicas.py: deploy/nginx in front of replicas
  debootstrap)  # tests/e2e/test_packaging.py: the image, .deb and install.sh in a Debian root
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere on a dev machine; only ask apt when absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- npm packages for the JS client tests (tests/js) -------------------------------------
# `npm ci` from the committed package-lock.json, only when node_modules is missing or older
# than the lock file (npm writes node_modules/.package-lock.json on every install).
JS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/js"
if command -v npm >/dev/null && [ -f "$JS_DIR/package-lock.json" ]; then
  if [ ! -f "$JS_DIR/node_modules/.package-lock.json" ] ||
     [ "$JS_DIR/package-lock.json" -nt "$JS_DIR/node_modules/.package-lock.json" ]; then
    (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

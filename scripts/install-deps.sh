#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12 packages (ARCHITECTURE.md §3).
# Safe to run any number of times: packages already present are skipped.
set -euo pipefail
# OLLAMA_DEPS=build installs only what building `ollama` and packaging it need (the
# Dockerfile's build stage, configured with -DOLLAMA_BUILD_TESTS=OFF); unset, everything.
BUILD_PKGS=(cmake g++ ninja-build pkg-config ccache git
  dpkg-dev  # scripts/package.sh: dpkg-shlibdeps computes the .deb's Depends
  libcpp-httplib-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev libpcre2-dev
  libutf8proc-dev libcli11-dev libedit-dev libfmt-dev libspdlog-dev
  libvulkan-dev glslc)  # the gpu part
TEST_PKGS=(make python3 python3-cryptography
  libgtest-dev libgmock-dev libbenchmark-dev
  docker-registry apache2-utils nodejs npm
  clang-14 libclang-rt-14-dev llvm-14  # tests/fuzz: libFuzzer + sanitizers, llvm-symbolizer
  mesa-vulkan-drivers  # the gpu tests run on Mesa's lavapipe
  nginx libnginx-mod-http-js  # tests/e2e/test_replicas.py: deploy/nginx in front of replicas
  debootstrap)  # tests/e2e/test_packaging.py: the image, .deb and install.sh in a Debian root
if [ "${OLLAMA_DEPS:-}" = build ]; then
  PKGS=("${BUILD_PKGS[@]}")
else
  PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
fi
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
if [ "${OLLAMA_DEPS:-}" != build ] && command -v npm >/dev/null &&
   [ -f "$JS_DIR/package-lock.json" ]; then
  if [ ! -f "$JS_DIR/node_modules/.package-lock.json" ] ||
     [ "$JS_DIR/package-lock.json" -nt "$JS_DIR/node_modules/.package-lock.json" ]; then
    (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

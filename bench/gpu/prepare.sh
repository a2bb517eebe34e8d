#!/usr/bin/env bash
# Run here, before a session's one device call (issue 18's speed numbers on a lent GPU; the
# device tool's README): gathers into .gpubench/ (ignored by git, carried by the call) what
# bench/gpu/device-run.sh needs on the device machine, which has no Vulkan loader, no
# network and no checkout of ../shared:
#   .gpubench/bin       engine-bench and engine-quantize from ./build
#   .gpubench/lib       the shared libraries they need that a bare image may lack (ldd;
#                       not the C library itself)
#   .gpubench/deb       the Vulkan loader package (libvulkan1) to unpack there
#   .gpubench/tools     make_tiny_gguf.py and the Llama-3 vocabulary it copies
# Then one call: run(command="bench/gpu/device-run.sh", carry=[".gpubench"], timeout_s=590).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${OLLAMA_SHARED_DIR:-../shared}
G=.gpubench
grep -qx "/$G/" .git/info/exclude 2>/dev/null || echo "/$G/" >>.git/info/exclude
rm -rf "$G"
mkdir -p "$G/bin" "$G/lib" "$G/deb" "$G/tools"
cmake --build build --target engine-bench engine-quantize >/dev/null
cp build/engine-bench build/engine-quantize "$G/bin/"
strip "$G/bin/"*
for b in "$G/bin/"*; do
  ldd "$b" | awk '$3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|ld-linux*|libpthread.so.*|libdl.so.*|librt.so.*) ;;  # the image's own
    *) cp -L "$lib" "$G/lib/" ;;
  esac
done
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
mkdir -p /tmp/amd64/partial
apt-get "${o[@]}" update -qq
(cd "$G/deb" && apt-get "${o[@]}" download libvulkan1 >/dev/null)
cp "$SHARED/tools/make_tiny_gguf.py" "$SHARED/testdata/vocab/ggml-vocab-llama-bpe.gguf" "$G/tools/"
du -sh "$G"

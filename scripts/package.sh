#!/usr/bin/env bash
# Packages an existing build tree (scripts/build.sh --target ollama) for release:
#
#   OUT_DIR/ollama-cpp_<version>_<arch>.deb         /usr/bin/ollama, the systemd unit
#                                                   /lib/systemd/system/ollama.service, the
#                                                   `ollama` system user (maintainer scripts)
#   OUT_DIR/ollama-cpp-<version>-linux-<arch>.tgz   bin/ollama and share/ollama-cpp/debian-depends
#                                                   (what scripts/install.sh installs)
#
# Usage: scripts/package.sh [BUILD_DIR (build)] [OUT_DIR (BUILD_DIR/dist)]
#
# The version is the CMake project version of the build tree. The .deb's Depends (and the
# tarball's list) are computed from the binary's NEEDED libraries: dpkg-shlibdeps (dpkg-dev)
# when it is there, else each library's owning package (dpkg -S) at >= its installed upstream
# version. OLLAMA_DEPENDS_METHOD=shlibdeps|dpkg-query picks one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
OUT="${2:-$BUILD/dist}"
die() { echo "package.sh: $*" >&2; exit 1; }

[ -x "$BUILD/ollama" ] || die "no $BUILD/ollama: build it first (scripts/build.sh --target ollama)"
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
[ -n "$VERSION" ] || die "no CMAKE_PROJECT_VERSION in $BUILD/CMakeCache.txt"
ARCH=$(dpkg --print-architecture)
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The install rules' tree, stripped, under /usr for the .deb.
DEB="$WORK/deb"
DESTDIR="$DEB" cmake --install "$BUILD" --prefix /usr --strip >/dev/null
BIN="$DEB/usr/bin/ollama"
[ -x "$BIN" ] || die "cmake --install staged no usr/bin/ollama"

# "pkg (>= version)" per line for every library the binary needs.
depends_shlibdeps() {
    mkdir -p "$WORK/shlibdeps/debian"
    : >"$WORK/shlibdeps/debian/control"  # dpkg-shlibdeps wants a source tree; an empty one does
    local out
    out=$(cd "$WORK/shlibdeps" && dpkg-shlibdeps -O "$BIN" 2>"$WORK/shlibdeps.err") ||
        { cat "$WORK/shlibdeps.err" >&2; die "dpkg-shlibdeps failed"; }
    sed -n 's/^shlibs:Depends=//p' <<<"$out" | tr ',' '\n' | sed 's/^ *//; /^$/d'
}
depends_dpkg_query() {
    local lib path pkg cand ver
    for lib in $(objdump -p "$BIN" | awk '$1 == "NEEDED" { print $2 }'); do
        path=$(ldd "$BIN" | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3 }')
        [ -n "$path" ] || die "ldd does not find $lib"
        pkg=""
        # merged /usr: dpkg may know the file under /lib or /usr/lib, or only its target
        for cand in "$path" "/usr$path" "${path#/usr}" "$(readlink -f "$path")"; do
            pkg=$( (dpkg-query -S "$cand" 2>/dev/null || true) |
                sed -n 's/^\([^:,]*\)\(:[^:,]*\)\?: .*/\1/p' | head -n 1)
            [ -z "$pkg" ] || break
        done
        [ -n "$pkg" ] || die "no Debian package owns $lib ($path)"
        ver=$( (dpkg-query -W -f='${Status}|${Version}\n' "$pkg:$ARCH" "$pkg" 2>/dev/null || true) |
            sed -n 's/^[^|]* installed|//p' | head -n 1)
        [ -n "$ver" ] || die "$pkg is not installed"
        ver=${ver%-*}  # the upstream version (epoch kept): Debian revisions differ by suite
        echo "$pkg (>= $ver)" >>"$WORK/depends.unsorted"
    done
    sort -u "$WORK/depends.unsorted"
}
METHOD=${OLLAMA_DEPENDS_METHOD:-}
if [ -z "$METHOD" ]; then
    if command -v dpkg-shlibdeps >/dev/null; then METHOD=shlibdeps; else METHOD=dpkg-query; fi
fi
case "$METHOD" in
    shlibdeps) depends_shlibdeps >"$WORK/depends" ;;
    dpkg-query) depends_dpkg_query >"$WORK/depends" ;;
    *) die "OLLAMA_DEPENDS_METHOD is shlibdeps or dpkg-query, not $METHOD" ;;
esac
[ -s "$WORK/depends" ] || die "no dependencies found for $BIN"
# The maintainer scripts create the user with useradd/groupadd (passwd is not Essential).
DEPENDS="$(paste -sd, "$WORK/depends" | sed 's/,/, /g'), passwd"

# ---------------------------------------------------------------------------------- .deb
install -d "$DEB/lib/systemd/system" "$DEB/DEBIAN"
sh "$ROOT/scripts/install.sh" --print-unit /usr/bin >"$DEB/lib/systemd/system/ollama.service"
chmod 0644 "$DEB/lib/systemd/system/ollama.service"
cat >"$DEB/DEBIAN/control" <<EOF
Package: ollama-cpp
Version: $VERSION
Architecture: $ARCH
Maintainer: ollama-cpp developers <ollama-cpp@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$DEB" | cut -f1)
Depends: $DEPENDS
Section: net
Priority: optional
Description: Ollama rebuilt in C++: run large language models locally
 The same ollama commands, HTTP API (127.0.0.1:11434), model store and Modelfiles
 as Ollama, with its own inference engine. The ollama service runs
 "ollama serve" as the system user ollama, with its models under
 /usr/share/ollama/.ollama.
EOF

cat >"$DEB/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Creates the ollama system user; enables and (re)starts the service when systemd runs.
set -e
if [ "$1" = configure ]; then
    getent group ollama >/dev/null || groupadd --system ollama
    getent passwd ollama >/dev/null ||
        useradd --system --gid ollama --home-dir /usr/share/ollama --no-create-home \
            --shell /usr/sbin/nologin --comment ollama ollama
    install -d -m 0755 /usr/share/ollama
    # a home kept from an earlier user id (install.sh --uninstall keeps it) is handed over
    [ "$(stat -c %U:%G /usr/share/ollama)" = ollama:ollama ] || chown -R ollama:ollama /usr/share/ollama
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable ollama.service >/dev/null 2>&1 || true
        systemctl restart ollama.service || true
    fi
fi
exit 0
EOF

cat >"$DEB/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# Stops the service before its binary goes; without systemd (chroots, containers) nothing to do.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now ollama.service >/dev/null 2>&1 || true
fi
exit 0
EOF

cat >"$DEB/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# remove: drop enablement links left to the removed unit. purge: also the ollama user, its
# group and its home /usr/share/ollama (the service's models).
set -e
case "$1" in
    remove|purge)
        for link in /etc/systemd/system/*.wants/ollama.service; do
            if [ -L "$link" ] && [ "$(readlink "$link")" = /lib/systemd/system/ollama.service ]; then
                rm -f "$link"
            fi
        done
        if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
        ;;
esac
if [ "$1" = purge ]; then
    if getent passwd ollama >/dev/null; then userdel ollama || true; fi
    if getent group ollama >/dev/null; then groupdel ollama || true; fi
    rm -rf /usr/share/ollama
fi
exit 0
EOF
chmod 0755 "$DEB/DEBIAN/postinst" "$DEB/DEBIAN/prerm" "$DEB/DEBIAN/postrm"
DEB_FILE="$OUT/ollama-cpp_${VERSION}_${ARCH}.deb"
dpkg-deb --build --root-owner-group "$DEB" "$DEB_FILE" >/dev/null

# ------------------------------------------------------------------------------ tarball
TGZ="$WORK/tgz"
DESTDIR="$TGZ" cmake --install "$BUILD" --prefix / --strip >/dev/null
install -d "$TGZ/share/ollama-cpp"
cp "$WORK/depends" "$TGZ/share/ollama-cpp/debian-depends"
TGZ_FILE="$OUT/ollama-cpp-${VERSION}-linux-${ARCH}.tgz"
tar -C "$TGZ" --sort=name --owner=0 --group=0 --numeric-owner -czf "$TGZ_FILE" bin share

echo "$DEB_FILE"
echo "$TGZ_FILE"
echo "Depends: $DEPENDS"

#!/bin/sh
# ollama-cpp installer, modelled on Ollama's: puts `ollama` in /usr/local/bin, creates the
# `ollama` system user (home /usr/share/ollama, where the service keeps its models), writes
# /etc/systemd/system/ollama.service and starts it when systemd runs. Safe to run again:
# an upgrade is the same command. POSIX sh, so it can be piped:
#
#     curl -fsSL https://.../install.sh | sh -s -- --tarball https://.../ollama-cpp-0.13.0-linux-amd64.tgz
#
# Run with --help for the options.
set -eu

PREFIX=/usr/local
TARBALL=""
ACTION=install
PURGE=0
OLLAMA_HOME=/usr/share/ollama
UNIT=/etc/systemd/system/ollama.service

usage() {
    cat <<'EOF'
Usage: install.sh [--tarball PATH_OR_URL] [--prefix DIR]
       install.sh --uninstall [--purge] [--prefix DIR]

Installs ollama-cpp like Ollama's installer does:
  PREFIX/bin/ollama                    the binary (PREFIX is /usr/local unless --prefix)
  user and group `ollama`              system account, home /usr/share/ollama; the user
                                       running the installer (or sudo's caller) joins the group
  /etc/systemd/system/ollama.service   `ollama serve` as user ollama on 127.0.0.1:11434,
                                       enabled and (re)started when systemd is running
  runtime libraries                    the Debian packages the tarball lists, installed with
                                       apt-get when missing or too old

Where the binary comes from, first found:
  --tarball PATH_OR_URL   a release tarball ollama-cpp-VERSION-linux-ARCH.tgz (URLs via curl)
  $OLLAMA_CPP_TARBALL     the same, from the environment
  a checkout              this script's ../build/ollama when run from a built checkout
                          (its libraries are already there: nothing is installed with apt)

Running it again with the same tarball leaves the same result; with a newer one it upgrades
and restarts the service.

  --uninstall   stops and removes the service, the binary, and the `ollama` user and group.
                The models in /usr/share/ollama/.ollama are kept (a later install takes them
                over) unless --purge is given too, which deletes /usr/share/ollama.
                Runtime libraries installed with apt-get are left installed.
  --purge       with --uninstall: delete /usr/share/ollama (the service's models) as well.
  --prefix DIR  install to (or uninstall from) DIR/bin instead of /usr/local/bin.
  --print-unit BINDIR
                print the systemd unit for BINDIR/ollama and exit (scripts/package.sh uses it).
  -h, --help    this text.

Needs root, or sudo. The service's settings (OLLAMA_HOST, OLLAMA_MODELS, ...) are changed
with `systemctl edit ollama` ([Service] Environment="OLLAMA_HOST=0.0.0.0:11434").
EOF
}

status() { printf '>>> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The service unit; $1 is the directory holding the binary.
print_unit() {
    cat <<EOF
[Unit]
Description=Ollama Service (ollama-cpp)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=$1/ollama serve
User=ollama
Group=ollama
Restart=always
RestartSec=3
Environment="HOME=$OLLAMA_HOME"
Environment="OLLAMA_HOST=127.0.0.1:11434"
Environment="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

[Install]
WantedBy=default.target
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --tarball) [ $# -ge 2 ] || die "--tarball needs a path or URL"; TARBALL=$2; shift ;;
        --tarball=*) TARBALL=${1#*=} ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift ;;
        --prefix=*) PREFIX=${1#*=} ;;
        --uninstall) ACTION=uninstall ;;
        --purge) PURGE=1 ;;
        --print-unit) [ $# -ge 2 ] || die "--print-unit needs a directory"; print_unit "$2"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[ "$PURGE" = 0 ] || [ "$ACTION" = uninstall ] || die "--purge goes with --uninstall"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path: $PREFIX" ;; esac
PREFIX=${PREFIX%/}
BINDIR=$PREFIX/bin

[ "$(uname -s)" = Linux ] || die "this installer is for Linux"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "run this as root, or install sudo"
    SUDO=sudo
fi

have() { command -v "$1" >/dev/null 2>&1; }
systemd_running() { [ -d /run/systemd/system ] && have systemctl; }
deb_installed() {  # the ollama-cpp Debian package is installed too
    have dpkg-query && dpkg-query -W -f='${Status}' ollama-cpp 2>/dev/null | grep -q ' installed$'
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------------------- uninstall
if [ "$ACTION" = uninstall ]; then
    if systemd_running && [ -f "$UNIT" ]; then
        status "Stopping and disabling the ollama service..."
        $SUDO systemctl disable --now ollama.service >/dev/null 2>&1 || true
    fi
    if [ -f "$UNIT" ]; then
        status "Removing $UNIT"
        $SUDO rm -f "$UNIT"
    fi
    for link in /etc/systemd/system/*.wants/ollama.service; do
        [ -L "$link" ] || continue
        case "$(readlink "$link")" in "$UNIT") $SUDO rm -f "$link" ;; esac
    done
    ! systemd_running || $SUDO systemctl daemon-reload || true
    if [ -e "$BINDIR/ollama" ]; then
        status "Removing $BINDIR/ollama"
        $SUDO rm -f "$BINDIR/ollama"
    fi
    if deb_installed; then
        warn "the ollama-cpp package is installed too: the ollama user and /usr/share/ollama are kept for it"
    else
        if getent passwd ollama >/dev/null 2>&1; then
            status "Removing the ollama user"
            $SUDO userdel ollama
        fi
        if getent group ollama >/dev/null 2>&1; then
            status "Removing the ollama group"
            $SUDO groupdel ollama
        fi
        if [ "$PURGE" = 1 ]; then
            if [ -d "$OLLAMA_HOME" ]; then
                status "Deleting $OLLAMA_HOME (the service's models)"
                $SUDO rm -rf "$OLLAMA_HOME"
            fi
        elif [ -d "$OLLAMA_HOME" ]; then
            status "Kept $OLLAMA_HOME (the service's models); --uninstall --purge deletes it"
        fi
    fi
    status "ollama-cpp is uninstalled."
    exit 0
fi

# ---------------------------------------------------------------------------- install
# The binary and its list of runtime Debian packages, in $TMP/root.
SRC_BIN=""
DEPENDS_FILE=""
[ -n "$TARBALL" ] || TARBALL=${OLLAMA_CPP_TARBALL:-}
if [ -n "$TARBALL" ]; then
    case "$TARBALL" in
        https://*|http://127.0.0.1[:/]*|http://localhost[:/]*|http://\[::1\][:/]*)
            # Plain http only from this machine: the tarball carries a binary run as root.
            have curl || die "curl is needed to download $TARBALL"
            status "Downloading $TARBALL"
            curl --fail --show-error --location --proto-redir =https --progress-bar \
                -o "$TMP/ollama.tgz" "$TARBALL"
            TARBALL=$TMP/ollama.tgz ;;
        *://*) die "download the tarball over https (or give a local file): $TARBALL" ;;
    esac
    [ -f "$TARBALL" ] || die "no such tarball: $TARBALL"
    mkdir "$TMP/root"
    tar -xzf "$TARBALL" -C "$TMP/root" || die "cannot unpack $TARBALL"
    SRC_BIN=$TMP/root/bin/ollama
    [ -f "$SRC_BIN" ] || die "$TARBALL has no bin/ollama"
    DEPENDS_FILE=$TMP/root/share/ollama-cpp/debian-depends
    [ -f "$DEPENDS_FILE" ] || { warn "$TARBALL lists no runtime packages"; DEPENDS_FILE=""; }
else
    # Run from a file in a checkout (not piped): use that checkout's build.
    case "$0" in
        install.sh|*/install.sh) CHECKOUT=$(cd "$(dirname "$0")/.." && pwd) ;;
        *) CHECKOUT="" ;;
    esac
    if [ -n "$CHECKOUT" ] && [ -f "$CHECKOUT/build/ollama" ]; then
        SRC_BIN=$CHECKOUT/build/ollama
        status "Installing the checkout's build: $SRC_BIN"
    else
        die "no binary to install: pass --tarball PATH_OR_URL (or set OLLAMA_CPP_TARBALL), or run this script from a checkout with build/ollama"
    fi
fi

# Runtime libraries. Each line of the list is a Debian dependency, "pkg (>= version)", or
# alternatives "a (>= 1) | b"; one that no installed package satisfies is installed
# (its first alternative).
satisfied() {  # $1: "pkg" or "pkg (>= version)"
    name=$(printf '%s\n' "$1" | sed 's/^ *\([^ (]*\).*/\1/')
    min=$(printf '%s\n' "$1" | sed -n 's/.*(>= *\([^)]*\)).*/\1/p')
    # (one line per installed architecture of a multiarch package)
    inst=$(dpkg-query -W -f='${Status}|${Version}\n' "$name" 2>/dev/null |
        sed -n 's/^[^|]* installed|//p' | head -n 1)
    if [ -z "$inst" ]; then
        # a virtual package (libspdlog1.10-fmt9): an installed package that provides it
        [ -z "$min" ] || return 1
        dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null | sed -n 's/^[^|]* installed|//p' |
            tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$name"
        return
    fi
    [ -z "$min" ] || dpkg --compare-versions "$inst" ge "$min"
}
if [ -n "$DEPENDS_FILE" ]; then
    if ! have dpkg-query; then
        warn "not a Debian system: make sure these libraries are installed: $(tr '\n' ' ' <"$DEPENDS_FILE")"
    else
        missing=""
        while IFS= read -r dep || [ -n "$dep" ]; do
            [ -n "$dep" ] || continue
            ok=0
            rest=$dep
            while [ -n "$rest" ]; do
                alt=${rest%%|*}
                if satisfied "$alt"; then ok=1; break; fi
                case "$rest" in *"|"*) rest=${rest#*|} ;; *) rest="" ;; esac
            done
            if [ "$ok" = 0 ]; then
                first=$(printf '%s\n' "${dep%%|*}" | sed 's/^ *\([^ (]*\).*/\1/')
                # a Debian package name, never an option for apt-get (it runs as root)
                printf '%s\n' "$first" | grep -Eqx '[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?' ||
                    die "bad package name in $DEPENDS_FILE: $first"
                missing="$missing $first"
            fi
        done <"$DEPENDS_FILE"
        if [ -n "$missing" ]; then
            have apt-get || die "these Debian packages are needed and apt-get is missing:$missing"
            status "Installing runtime packages:$missing"
            $SUDO apt-get update -qq
            # shellcheck disable=SC2086  # one word per package
            $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
        fi
    fi
fi

ver=$("$SRC_BIN" --version 2>&1) || die "$SRC_BIN does not run here (missing libraries?): $ver"

# The binary: copied beside the old one and renamed over it, so a running server keeps its
# file and an interrupted install leaves the old one.
status "Installing ollama to $BINDIR"
$SUDO install -d -m 0755 "$BINDIR"
$SUDO install -m 0755 "$SRC_BIN" "$BINDIR/.ollama.new"
$SUDO mv -f "$BINDIR/.ollama.new" "$BINDIR/ollama"

# The service account.
if ! getent group ollama >/dev/null 2>&1; then
    status "Creating the ollama group..."
    $SUDO groupadd --system ollama 2>/dev/null || $SUDO addgroup --system ollama
fi
if ! getent passwd ollama >/dev/null 2>&1; then
    status "Creating the ollama user..."
    if have useradd; then
        $SUDO useradd --system --gid ollama --home-dir "$OLLAMA_HOME" --no-create-home \
            --shell /bin/false --comment ollama ollama
    else
        $SUDO adduser --system --ingroup ollama --home "$OLLAMA_HOME" --no-create-home \
            --shell /bin/false ollama
    fi
fi
$SUDO install -d -m 0755 "$OLLAMA_HOME"
# A home left by an uninstall (models kept) belongs to the old user's id: hand it over.
if [ "$(stat -c %U:%G "$OLLAMA_HOME")" != ollama:ollama ]; then
    $SUDO chown -R ollama:ollama "$OLLAMA_HOME"
fi
INVOKER=${SUDO_USER:-$(id -un)}
if [ "$INVOKER" != root ] && [ "$INVOKER" != ollama ] && id "$INVOKER" >/dev/null 2>&1 &&
    ! id -nG "$INVOKER" | tr ' ' '\n' | grep -qx ollama; then
    status "Adding $INVOKER to the ollama group..."
    $SUDO usermod -a -G ollama "$INVOKER"
fi

# The systemd unit: written always (a system that boots with systemd later finds it),
# enabled and (re)started only when systemd is running now.
deb_installed && warn "the ollama-cpp package is installed too: $UNIT (this install) takes precedence over its unit"
print_unit "$BINDIR" >"$TMP/ollama.service"
$SUDO install -d -m 0755 "$(dirname "$UNIT")"
if ! cmp -s "$TMP/ollama.service" "$UNIT"; then
    status "Writing $UNIT"
    $SUDO install -m 0644 "$TMP/ollama.service" "$UNIT"
fi
if systemd_running; then
    status "Enabling and (re)starting the ollama service..."
    $SUDO systemctl daemon-reload
    $SUDO systemctl enable ollama.service >/dev/null 2>&1
    $SUDO systemctl restart ollama.service
    status "The Ollama API is now available at 127.0.0.1:11434."
else
    status "systemd is not running: start the server yourself, e.g."
    status "    $BINDIR/ollama serve"
    status "or as the service account: sudo -u ollama HOME=$OLLAMA_HOME $BINDIR/ollama serve"
fi
status "Install complete. Run \"ollama\" from the command line."

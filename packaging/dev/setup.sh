# packaging/dev/setup.sh: the setup shared by packaging/dev/test and packaging/dev/demo (sourced,
# not run): Debian packages, Node.js and the test dependencies, autotools, configure and build.
# Every step checks first and does nothing when it is already done, so re-runs are fast and work
# offline once the first run has installed everything.

MCPGW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive

MCPGW_DEB_PACKAGES=(build-essential autoconf automake libtool pkg-config libh2o-evloop-dev
    libnng-dev libmsgpack-dev libyaml-dev libssl-dev libcurl4-openssl-dev libyajl-dev
    libcmocka-dev curl clang-format)
MCPGW_NODE_MIN=18

mcpgw_log() { printf '==> %s\n' "$*" >&2; }
mcpgw_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

mcpgw_deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

mcpgw_apt_updated=0
mcpgw_apt_install() {
    (( $# )) || return 0
    [[ $(id -u) -eq 0 ]] || mcpgw_die "missing packages ($*): run as root, or install them first"
    if (( ! mcpgw_apt_updated )); then
        mcpgw_log "apt-get update"
        apt-get update -qq || mcpgw_die "apt-get update failed"
        mcpgw_apt_updated=1
    fi
    mcpgw_log "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || mcpgw_die "apt-get install $* failed"
}

# The major version of the node on PATH, or 0.
mcpgw_node_major() {
    local v
    v=$(node --version 2>/dev/null) || { echo 0; return; }
    v=${v#v}
    echo "${v%%.*}"
}

mcpgw_install_deps() {
    local missing=() p
    for p in "${MCPGW_DEB_PACKAGES[@]}"; do
        mcpgw_deb_installed "$p" || missing+=("$p")
    done
    # Node: keep whatever node >= 18 is there (Debian's or another packaging that bundles npm);
    # otherwise Debian 12's nodejs (18.x) and npm.
    if (( $(mcpgw_node_major) < MCPGW_NODE_MIN )); then
        missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
    elif ! command -v npm >/dev/null; then
        missing+=(npm)
    fi
    mcpgw_apt_install "${missing[@]}"
    (( $(mcpgw_node_major) >= MCPGW_NODE_MIN )) ||
        mcpgw_die "node >= $MCPGW_NODE_MIN needed, have $(node --version 2>/dev/null || echo none)"
    command -v npm >/dev/null || mcpgw_die "npm not found"
}

# npm ci in tests/ unless node_modules already matches package-lock.json and this node.
mcpgw_npm_ci() {
    local dir=$MCPGW_REPO/tests stamp want
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) node$(mcpgw_node_major)"
    stamp=$dir/node_modules/.mcpgw-stamp
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    mcpgw_log "npm ci in tests/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || mcpgw_die "npm ci failed"
    printf '%s\n' "$want" >"$stamp"
}

# autoreconf -fi when configure is missing or older than its sources.
mcpgw_autoreconf() {
    local f need=0
    [[ -x $MCPGW_REPO/configure && -f $MCPGW_REPO/Makefile.in ]] || need=1
    for f in configure.ac Makefile.am; do
        [[ $MCPGW_REPO/$f -nt $MCPGW_REPO/configure || $MCPGW_REPO/$f -nt $MCPGW_REPO/Makefile.in ]] && need=1
    done
    if (( need )); then
        mcpgw_log "autoreconf -fi"
        (cd "$MCPGW_REPO" && autoreconf -fi) || mcpgw_die "autoreconf failed"
    fi
}

# mcpgw_configure DIR [configure args...]: configure DIR unless it already is, with the same args.
mcpgw_configure() {
    local dir=$1 have want
    shift
    mkdir -p "$dir"
    want=$(printf "'%s' " "$@")
    want=${want% }
    if [[ -x $dir/config.status ]]; then
        have=$("$dir/config.status" --config 2>/dev/null)
        [[ $have == "$want" ]] && return 0
    fi
    mcpgw_log "configure $* (in $dir)"
    (cd "$dir" && "$MCPGW_REPO/configure" "$@") >"$dir/configure.out" 2>&1 || {
        tail -n 30 "$dir/configure.out" >&2
        return 1
    }
}

# mcpgw_make DIR: build everything (programs, test backend, unit tests) in DIR; log in DIR/build.log.
mcpgw_make() {
    local dir=$1
    mcpgw_log "make -j$(nproc) (in $dir)"
    if ! make -C "$dir" -j"$(nproc)" all >"$dir/build.log" 2>&1; then
        if grep -q -E 'error:' "$dir/build.log"; then
            grep -E 'error:' "$dir/build.log" | head -n 40 >&2
        else
            tail -n 20 "$dir/build.log" >&2
        fi
        return 1
    fi
}

# Everything but configure + make: packages, node deps, autotools.
mcpgw_setup() {
    mcpgw_install_deps
    mcpgw_npm_ci
    mcpgw_autoreconf
}

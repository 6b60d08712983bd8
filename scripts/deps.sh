#!/usr/bin/env bash
# Installs the Debian packages Signet needs to build, run and test, if any
# are missing. Safe to run again: it asks apt only when something is absent.
# Needs root (or sudo) the first time.
set -euo pipefail

PKGS=(
  # build
  gcc make cmake pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev openssl
  libcurl4-openssl-dev libcmocka-dev libp11-kit-dev libpq-dev
  # run: the embedded HSM; the time zone database (signing windows)
  softhsm2 tzdata
  # test: real signing tools and helpers
  opensc osslsigncode libengine-pkcs11-openssl p11-kit gnutls-bin
  libnss3-tools sbsigntool apksigner gnupg gnupg-pkcs11-scd git rpm
  linux-kbuild-6.1
  sqlite3 jq curl ca-certificates procps psmisc
  # test: the PostgreSQL backend (a private cluster per run) and the
  # scale-out test behind a load balancer
  postgresql haproxy
  openjdk-17-jdk-headless cppcheck python3
  # test: the loopback OIDC issuer of tests/e2e/oidc_issuer.py
  # and tests/tlog_verify.py (transparency log verifier)
  python3-cryptography
  # test: tests/e2e/metrics_histograms.sh parses /metrics with a real
  # Prometheus text parser
  python3-prometheus-client
  # test: the web console in a real browser (tests/console, playwright-core)
  chromium fonts-dejavu-core
)

# Debian 12 ships these only in bookworm-backports.
BACKPORTS=(pkcs11-provider)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
missing=()
for p in "${PKGS[@]}"; do
  installed "$p" || missing+=("$p")
done
# Node.js runs the browser tests only (the C build never needs it); a node
# from elsewhere (with its own npm) is fine, so Debian's is installed only
# when there is none.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
missing_bp=()
for p in "${BACKPORTS[@]}"; do
  installed "$p" || missing_bp+=("$p")
done

# playwright-core for the browser tests, exactly as locked, from the npm
# registry only (no browser download: Debian's chromium is used).
console_npm() {
  local dir
  dir=$(cd "$(dirname "$0")/.." && pwd)/tests/console
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in tests/console" >&2
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
  fi
}

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_bp[@]} -eq 0 ]; then
  console_npm
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing_bp[@]} -gt 0 ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # The backports suite from the same mirror as the main bookworm suite
  # (taken from the system's own sources, so no mirror is named here).
  src=/etc/apt/sources.list.d/debian.sources
  uri=$(awk 'BEGIN { RS = "" } /Suites:[^\n]*bookworm( |\n|$)/ { print; exit }' "$src" 2>/dev/null |
        sed -n 's/^URIs: *//p' | awk '{ print $1 }')
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  if [ -z "$uri" ]; then
    echo "deps: no bookworm source found to add bookworm-backports to" >&2
    exit 1
  fi
  echo "deps: adding bookworm-backports ($uri)" >&2
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
fi
echo "deps: installing ${missing[*]} ${missing_bp[*]}" >&2
$SUDO apt-get update -qq
[ ${#missing[@]} -eq 0 ] ||
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ ${#missing_bp[@]} -eq 0 ] ||
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bp[@]}" >/dev/null
console_npm

#!/usr/bin/env bash
# Installs the Debian packages Signet needs to build, run and test, if any
# are missing. Safe to run again: it asks apt only when something is absent.
# Needs root (or sudo) the first time.
set -euo pipefail

PKGS=(
  # build
  gcc make cmake pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev openssl
  libcurl4-openssl-dev libcmocka-dev libp11-kit-dev
  # run: the embedded HSM
  softhsm2
  # test: real signing tools and helpers
  opensc osslsigncode libengine-pkcs11-openssl p11-kit gnutls-bin
  sqlite3 jq curl ca-certificates procps psmisc
  openjdk-17-jdk-headless cppcheck python3
  # test: the loopback OIDC issuer of tests/e2e/oidc_issuer.py
  # and tests/tlog_verify.py (transparency log verifier)
  python3-cryptography
  # test: the web console in a real browser (tests/console, playwright-core)
  chromium fonts-dejavu-core
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
# Node.js runs the browser tests only (the C build never needs it); a node
# from elsewhere (with its own npm) is fine, so Debian's is installed only
# when there is none.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

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

if [ ${#missing[@]} -eq 0 ]; then
  console_npm
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
console_npm

#!/usr/bin/env bash
# Set up diagcps on a fresh Debian or Ubuntu machine, then either run the diagnosis on the
# built-in virtual CPS card through a private pcscd ("demo") or run the whole test suite ("test").
#
#   ./scripts/setup.sh demo [diagcps demo options…]
#   ./scripts/setup.sh test [pytest options…]
set -euo pipefail

mode=${1:-}
case "$mode" in
  demo|test) shift ;;
  *) echo "usage: $0 demo|test [options…]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."

# pcscd and the vpcd virtual reader driver are the real PC/SC stack the demo and the tests use;
# libpcsclite-dev and gcc build pyscard, which has no Linux wheel.
packages=(pcscd vsmartcard-vpcd libpcsclite-dev gcc python3-venv python3-dev)
# OpenSC (pkcs15-tool): the independent reader of CPS cards that the benchmark, bench/run.py,
# compares diagcps with.
if [ "$mode" = test ]; then
  packages+=(opensc)
  # The network test bed: ip (lo, a black-hole route) in a private network namespace.
  packages+=(iproute2)
  # NSS's own tools (modutil, certutil) build the real browser databases of the tests.
  packages+=(libnss3-tools)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing system packages: ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# setuptools tells every editable install where its files live ("Editable installation."):
# information only, silenced so that a set-up prints nothing but real problems.
export PYTHONWARNINGS="ignore:Editable installation"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$mode" = demo ]; then
  .venv/bin/python -m pip install -q -e . >/dev/null
  # The demo's private pcscd lives in its own mount namespace, which needs root; this way it
  # never disturbs the system's pcscd (often socket-activated on desktops).
  if [ "$(id -u)" -ne 0 ]; then
    exec sudo .venv/bin/diagcps demo "$@"
  fi
  exec .venv/bin/diagcps demo "$@"
fi

.venv/bin/python -m pip install -q -e '.[test]' >/dev/null
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"

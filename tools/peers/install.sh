#!/usr/bin/env bash
# Install the benchmark peers of `make bench` into target/bench-peers (not needed by the tests):
# pydicom/deid from PyPI, dcmjs from npm, GDCM's gdcmanon from Debian. Versions are pinned so
# that benchmark runs compare the same things. A peer that cannot be installed is skipped by
# tools/bench.py, which says so in its table.
set -u
cd "$(dirname "$0")/../.."
dest=target/bench-peers
mkdir -p "$dest"
if ! command -v gdcmanon >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q libgdcm-tools >/dev/null || echo "bench peers: gdcmanon not installed" >&2
  else
    sudo -n apt-get install -y -q libgdcm-tools >/dev/null || echo "bench peers: gdcmanon not installed" >&2
  fi
fi
if [ ! -x "$dest/venv/bin/python" ] || ! cmp -s tools/peers/requirements.txt "$dest/venv/requirements.txt"; then
  python3 -m venv "$dest/venv" &&
    "$dest/venv/bin/pip" install -q -r tools/peers/requirements.txt &&
    cp tools/peers/requirements.txt "$dest/venv/requirements.txt" ||
    echo "bench peers: deid not installed" >&2
fi
if [ ! -d "$dest/node/node_modules/dcmjs" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dest/node" dcmjs@0.52.2 ||
    echo "bench peers: dcmjs not installed" >&2
fi
exit 0

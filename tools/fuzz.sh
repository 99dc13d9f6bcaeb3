#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 30), from a seed corpus made here:
# the sample study, DCMTK conversions of it (RLE, JPEG), a ZIP of it, and rules files.
#   tools/fuzz.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (scripts/setup.sh installs it). The toolchain is stable: RUSTC_BOOTSTRAP
# lets it take the sanitizer flags cargo-fuzz passes. A crash leaves its input under
# fuzz/artifacts/TARGET/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_EACH="${1:-30}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(deid frames archive rules)

corpus=fuzz/corpus
if [ ! -d "$corpus/deid" ]; then
  echo "[fuzz] making the seed corpus"
  cargo build --release --bin obscura --quiet
  tmp=$(mktemp -d)
  target/release/obscura sample "$tmp/sample" >/dev/null
  mkdir -p "$corpus/deid" "$corpus/frames" "$corpus/archive" "$corpus/rules"
  cp "$tmp"/sample/* "$corpus/deid/"
  first=$(ls "$tmp"/sample/* | head -1)
  if command -v dcmcrle >/dev/null; then
    dcmcrle "$first" "$corpus/deid/rle.dcm" || true
    dcmcjpeg +e1 "$first" "$corpus/deid/jpeg-lossless.dcm" || true
    dcmconv +tb "$first" "$corpus/deid/big-endian.dcm" || true
    dcmconv +ti "$first" "$corpus/deid/implicit.dcm" || true
  fi
  python3 - "$tmp/sample" "$corpus/archive/sample.zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(sys.argv[1])):
        z.write(os.path.join(sys.argv[1], n), n)
PY
  printf '{"rules": [{"name": "n", "modality": "CT", "rows": 64, "regions": [{"x": 0, "y": 0, "w": 9, "h": 9}]}]}' \
    > "$corpus/rules/rules.json"
  printf '*** c ***\n{ Modality.equals("CT") * ([0028,0010].isLessThan("100") + !Manufacturer.matches("A.*")) }\n(0, 0, 64, 6) (1,2,3,4)\n' \
    > "$corpus/rules/ctp.script"
  # Frames: a transfer syntax byte, then fragment bytes (0xFE splits fragments).
  printf '\x00\x01\x00\x00\x00\x40\x00\x00\x00' > "$corpus/frames/rle-header"
  printf '\x01\xff\xd8\xff\xdb\x00\x43\x00' > "$corpus/frames/jpeg-start"
  printf '\x05\xff\x4f\xff\x51\x00\x29' > "$corpus/frames/j2k-start"
  printf '\x07\xff\xd8\xff\xf7\x00\x0b\x08' > "$corpus/frames/jpegls-start"
  rm -rf "$tmp"
fi

for t in "${TARGETS[@]}"; do
  echo "[fuzz] $t for ${SECONDS_EACH}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "$corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread|Done|.*panicked)' || true
  if [ -n "$(ls -A "fuzz/artifacts/$t" 2>/dev/null)" ]; then
    echo "[fuzz] $t found a crash: fuzz/artifacts/$t/"; exit 1
  fi
done
echo "[fuzz] no crash"

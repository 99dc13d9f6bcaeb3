#!/usr/bin/env bash
# The npm package of Obscura's library (library/js): the library's module and types, the core
# as `make wasm` built it (pkg/), and the text models `make model` checked (www/models/),
# assembled in target/npm/obscura-dicom and packed by `npm pack` into target/npm/. Prints the
# tarball's path.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in pkg/obscura.js pkg/obscura_bg.wasm www/models/text-detect.onnx www/models/text-read.onnx www/models/text-read-keys.txt; do
  [ -f "$f" ] || { echo "npm-package: $f is missing (run \`make model wasm\`)" >&2; exit 1; }
done
out=target/npm/obscura-dicom
rm -rf target/npm
mkdir -p "$out/core" "$out/models"
cp library/js/index.js library/js/index.d.ts library/js/README.md "$out/"
cp pkg/obscura.js pkg/obscura_bg.wasm "$out/core/"
[ -f pkg/obscura.d.ts ] && cp pkg/obscura.d.ts "$out/core/"
cp www/models/text-detect.onnx www/models/text-read.onnx www/models/text-read-keys.txt www/models/SHA256SUMS "$out/models/"
cp library/js/MODELS.md "$out/models/README.md"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
sed "s/\"version\": \"0.0.0\"/\"version\": \"$version\"/" library/js/package.json > "$out/package.json"
(cd target/npm && npm pack ./obscura-dicom --silent --pack-destination .) | tail -n 1 | sed 's#^#target/npm/#'

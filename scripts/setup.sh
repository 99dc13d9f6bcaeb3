#!/usr/bin/env bash
# Install everything Obscura needs to build, run and test, on a fresh Debian machine.
# Idempotent and quick when everything is already present. Run by `make test`; `make run` runs
# it with --run, which installs only what building and serving the page needs (the wasm32
# target, wasm-pack, wasm-bindgen-cli, wasm-opt and the text model from npm): no browsers,
# DCMTK, cargo-deny, cargo-fuzz or Python tools.
set -euo pipefail
cd "$(dirname "$0")/.."
only_run=false
[ "${1:-}" = "--run" ] && only_run=true

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# 1. Debian packages: Chromium + its driver and Firefox ESR (browser tests, Firefox driven
#    over WebDriver BiDi), DCMTK and dicom3tools
#    (cross-validation of output), zip tools, LibreOffice Impress and poppler (the slide deck
#    opened and drawn), Python venv support.
need_apt=()
if ! $only_run; then
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)
command -v dcmdump >/dev/null 2>&1 || need_apt+=(dcmtk)
command -v dciodvfy >/dev/null 2>&1 || need_apt+=(dicom3tools)
command -v 7zz >/dev/null 2>&1 || need_apt+=(7zip)
command -v soffice >/dev/null 2>&1 || need_apt+=(libreoffice-impress)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
# (A font, for the deck's text as LibreOffice draws it.)
fc-list 2>/dev/null | grep -q . || need_apt+=(fonts-dejavu-core)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# 2. Rust: the wasm32 target, wasm-pack, and wasm-bindgen-cli at exactly the version in
#    Cargo.lock (wasm-pack would otherwise try to download it, which fails offline).
export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
$only_run || for component in clippy rustfmt; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done
if ! command -v wasm-pack >/dev/null 2>&1; then
  say "installing wasm-pack (takes a few minutes once)"
  cargo install wasm-pack --locked --version 0.15.1
fi
[ -f Cargo.lock ] || cargo generate-lockfile
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wb_version" ]; then echo "setup: no wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (takes a few minutes once)"
  # No --locked: its lock file names a crate version this registry does not have.
  cargo install wasm-bindgen-cli --version "$wb_version" --force
fi
if ! $only_run && ! command -v cargo-deny >/dev/null 2>&1; then
  say "installing cargo-deny (licence and source checks of dependencies; takes two minutes once)"
  cargo install cargo-deny --locked --version 0.20.2
fi
if ! $only_run && ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (fuzz targets in fuzz/; takes a minute once)"
  cargo install cargo-fuzz --locked --version 0.13.2
fi

# 3. npm test-only tools from the lock file (playwright-core drives Debian's Chromium;
#    binaryen provides wasm-opt; typescript checks the JS library's types). The page itself
#    has no npm dependency.
if [ ! -d node_modules/playwright-core ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing test tools from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 4. Python test tools in a local venv: pydicom and pydicom-data (their wheels carry sample
#    files written by others, used as test inputs and never committed) and pydicom's JPEG 2000 / JPEG-LS plugins
#    (they write compressed test inputs). Reinstalled when tests/requirements.txt changes.
if $only_run; then
  say "what the page needs is present"
  exit 0
fi
if [ ! -x .venv/bin/python ] || ! cmp -s tests/requirements.txt .venv/obscura-requirements.txt; then
  say "creating .venv with the Python test tools"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/obscura-requirements.txt
fi
say "all tools present"

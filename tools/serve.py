#!/usr/bin/env python3
"""Serve Obscura's page locally: www/ at /, the wasm package (pkg/) at /pkg/.

Usage: tools/serve.py [--port 8080] [--bind 127.0.0.1]

Binds to loopback only. Every response carries the same strict Content-Security-Policy as
the page's meta tag, plus headers that keep the page from being framed or leaking referrers.
"""
import argparse
import http.server
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
       "connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
       "require-trusted-types-for 'script'; trusted-types obscura")


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".webmanifest": "application/manifest+json",
    }

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/pkg/"):
            base, rest = os.path.join(ROOT, "pkg"), path[len("/pkg/"):]
        else:
            base, rest = os.path.join(ROOT, "www"), path.lstrip("/")
        full = os.path.realpath(os.path.join(base, rest))
        # Never serve anything outside the two folders.
        if not (full == os.path.realpath(base) or full.startswith(os.path.realpath(base) + os.sep)):
            return os.path.join(base, "__forbidden__")
        return full

    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("OBSCURA_SERVE_QUIET") != "1":
            super().log_message(fmt, *args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(ROOT, "pkg", "obscura_bg.wasm")):
        sys.exit("pkg/ is missing: run `make build` first")
    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    print(f"Obscura is running at http://{args.bind}:{server.server_address[1]}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

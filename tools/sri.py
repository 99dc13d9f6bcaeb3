#!/usr/bin/env python3
"""Subresource Integrity for the page's own module script and stylesheet.

Writes `integrity="sha384-…"` on the <script src="app/main.js"> and <link href="style.css">
tags of www/index.html from the files' contents, so a file altered on the server (or a
cache in between) is refused by the browser. `--check` only says whether they are current
(`make lint` runs it; `make sri` updates them after an edit).

The worker and the wasm module are loaded by scripts (new Worker, import, fetch), where
browsers offer no integrity attribute; they are covered by the same-origin CSP only.
"""
import base64
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX = os.path.join(ROOT, "www", "index.html")
TAGS = [
    (r'<script type="module" src="app/main.js"[^>]*></script>', "app/main.js",
     '<script type="module" src="app/main.js" integrity="{}"></script>'),
    (r'<link rel="stylesheet" href="style.css"[^>]*>', "style.css",
     '<link rel="stylesheet" href="style.css" integrity="{}">'),
]


def digest(path):
    with open(os.path.join(ROOT, "www", path), "rb") as f:
        return "sha384-" + base64.b64encode(hashlib.sha384(f.read()).digest()).decode()


def main():
    check = "--check" in sys.argv[1:]
    with open(INDEX, encoding="utf-8") as f:
        html = f.read()
    updated = html
    for pattern, path, tag in TAGS:
        if not re.search(pattern, updated):
            sys.exit(f"sri: no tag for {path} in www/index.html")
        updated = re.sub(pattern, tag.format(digest(path)), updated)
    if check:
        if updated != html:
            sys.exit("sri: integrity hashes in www/index.html are stale: run `make sri`")
        print("sri: integrity hashes are current")
    elif updated != html:
        with open(INDEX, "w", encoding="utf-8") as f:
            f.write(updated)
        print("sri: www/index.html updated")


if __name__ == "__main__":
    main()

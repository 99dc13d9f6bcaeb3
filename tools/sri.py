#!/usr/bin/env python3
"""Subresource Integrity for the page's own module script and stylesheet.

Writes `integrity="sha384-…"` on the <script src="app/main.js"> and <link href="style.css">
tags of www/index.html from the files' contents, so a file altered on the server (or a
cache in between) is refused by the browser. `--check` only says whether they are current
(`make lint` runs it; `make sri` updates them after an edit).

The modules main.js imports (its sections, ../shared/) are fetched by the browser as the import
statements ask, where no integrity attribute can be given: each gets a
<link rel="modulepreload" integrity="…"> before the script tag, so that the browser fetches it
first and checks it, and the import then uses what was checked (a module that fails its check
fails the page's script whole). The list is every module main.js reaches, found here by its
import statements.

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


IMPORT = re.compile(r"^import\s[^'\"]*?from\s+['\"](\.{1,2}/[^'\"]+)['\"];?$", re.M)
PRELOAD = re.compile(r'<link rel="modulepreload"[^>]*>\n')


def imported_modules(entry):
    """Every module `entry` (a path under www/) imports, directly or not, in a stable order."""
    seen, todo = [], [entry]
    while todo:
        path = todo.pop(0)
        with open(os.path.join(ROOT, "www", path), encoding="utf-8") as f:
            source = f.read()
        for rel in IMPORT.findall(source):
            target = os.path.normpath(os.path.join(os.path.dirname(path), rel)).replace(os.sep, "/")
            if target != entry and target not in seen:
                seen.append(target)
                todo.append(target)
    return seen


def preloads():
    """The modulepreload tags of main.js's modules, with their integrity."""
    return "".join(f'<link rel="modulepreload" href="{m}" integrity="{digest(m)}">\n'
                   for m in imported_modules("app/main.js"))


def main():
    check = "--check" in sys.argv[1:]
    with open(INDEX, encoding="utf-8") as f:
        html = f.read()
    updated = html
    for pattern, path, tag in TAGS:
        if not re.search(pattern, updated):
            sys.exit(f"sri: no tag for {path} in www/index.html")
        updated = re.sub(pattern, tag.format(digest(path)), updated)
    # The modules' tags, anew, just before the page's script.
    updated = PRELOAD.sub("", updated)
    updated = updated.replace('<script type="module" src="app/main.js"',
                              preloads() + '<script type="module" src="app/main.js"', 1)
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

#!/usr/bin/env python3
"""Benchmark Obscura's metadata de-identification against the copy floor and peers.

Usage: tools/bench.py [--slices 300] [--out docs/benchmarks.md]     (or `make bench`)

Generates a fake 512x512 16-bit CT series with Obscura's own sample generator, then measures,
one after the other on the same files: copying the bytes (`cp -r`, the floor), Obscura's native
CLI (all cores, and one thread), Chromium only reading the files (tools/bench-read.mjs, the
browser's floor), Obscura in Chromium through the real page, and the peers that
are installed (tools/peers/install.sh, run by `make bench`): DCMTK's dcmodify (erasing the
patient attributes and private tags in place), GDCM's gdcmanon (its PS3.15 profile, originals
encrypted into the file), pydicom/deid with its default recipe, dcmjs's anonymizer in Node, and
a plain pydicom script. Then the same kind of series with a scanner's noise, which hardly
compresses: the native one-thread runs with and without the package's ZIP, Chromium only
reading the files, and the page. Then a mixed compressed set (that series in five compressed
transfer syntaxes, and JPEG ultrasound cines, made with DCMTK and pydicom) through every
metadata run again. Then pixel cleaning of ultrasound cines, natively. Reports MB/s, files/s and peak memory (RSS), and writes the
tables to the given Markdown file. Timings are measurements, not test assertions.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "obscura")
PY = os.path.join(ROOT, ".venv", "bin", "python")
PEERS = os.path.join(ROOT, "target", "bench-peers")
PEERS_PY = os.path.join(PEERS, "venv", "bin", "python")
PEERS_NODE = os.path.join(PEERS, "node", "node_modules")

PYDICOM_SCRIPT = r"""
import os, sys, pydicom
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    ds = pydicom.dcmread(os.path.join(src, name))
    ds.remove_private_tags()
    def clean(d, elem):
        if elem.VR in ("PN", "DA", "DT", "TM") or elem.keyword in ("PatientID", "AccessionNumber", "InstitutionName"):
            del d[elem.tag]
    ds.walk(clean)
    ds.PatientIdentityRemoved = "YES"
    ds.save_as(os.path.join(dst, name))
"""

DCMODIFY_ARGS = ["-nb", "-ie", "-imt", "--erase-private"] + [
    arg
    for tag in ["(0010,0010)", "(0010,0020)", "(0010,0030)", "(0008,0050)", "(0008,0080)", "(0008,0090)",
                "(0008,1070)", "(0008,0020)", "(0008,0030)", "(0008,1030)", "(0008,103E)"]
    for arg in ("-ea", tag)
]


def measure(label, cmd, before=None, tries=3):
    """Run `cmd` under /usr/bin/time `tries` times (`before` each time: this machine's timings
    of a second or two vary by a third); returns (the best seconds, the highest peak RSS in
    MiB)."""
    best, peak = None, 0.0
    for _ in range(tries):
        if before:
            before()
        # What earlier runs wrote is on disk before this one starts: a run writing while the
        # last one's files are still being written out (or deleted) is slowed by them.
        subprocess.run(["sync"], check=False)
        start = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if r.returncode not in (0, 1):
            sys.exit(f"{label} failed ({r.returncode}): {r.stderr[-500:]}")
        best = seconds if best is None else min(best, seconds)
        peak = max(peak, int(r.stderr.strip().splitlines()[-1]) / 1024)
    return best, peak


def pixel_bench(work, cines):
    """Pixel cleaning: ultrasound cines with burned-in text, automatic detection, natively."""
    if not os.path.exists(PY) or cines <= 0:
        return []
    folder = os.path.join(work, "us")
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); import check_pixels as c\n"
        "os.makedirs(sys.argv[2], exist_ok=True)\n"
        "for i in range(int(sys.argv[3])):\n"
        "    arr, text, fan = c.ultrasound(60, rows=600, cols=800, rgb=True)\n"
        "    c.write_array(arr, os.path.join(sys.argv[2], f'us{i:03d}.dcm'), True)\n"
    )
    subprocess.run([PY, "-c", script, os.path.join(ROOT, "tests", "crossval"), folder, str(cines)],
                   check=True)
    mb = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 1e6
    frames = cines * 60
    runs = []
    for label, extra in [
        ("Obscura CLI, automatic detection (default memory budget: 3 × the largest file + 32 MiB)", []),
        ("Obscura CLI, automatic detection, one thread (`--jobs 1`)", ["--jobs", "1"]),
    ]:
        out = os.path.join(work, "us-out")

        def fresh():
            # No output left, and the study just written (and the last output) flushed:
            # 1.7 GB still on its way to disk would slow down the writes of the run measured.
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run(["sync"], check=False)

        runs.append((label, *measure("obscura pixels", [CLI, "deid", folder, "--out", out, "--detect-text"] + extra,
                                     before=fresh)))
    limit = 3 * mb / cines / 1.048576 + 64
    return [
        "## Pixel cleaning",
        "",
        f"{cines} ultrasound cines of 60 frames, 800×600 RGB ({mb:.0f} MB), with fake names burned in; "
        "`obscura deid --detect-text` (text found in the first and last frame, blanked on all 60); "
        "the best time of three runs, and the highest peak:",
        "",
        "| tool | seconds | frames/s | MB/s | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|",
    ] + [
        f"| {label} | {t:.2f} | {frames / t:.0f} | {mb / t:.0f} | {rss:.0f} |" for label, t, rss in runs
    ] + [
        "",
        f"Target: ≥ 200 frames/s. Memory target: below 3 × the largest file + 64 MiB = {limit:.0f} MiB "
        f"(default run: {runs[0][2]:.0f} MiB). Each cine's pixels are cleaned in the buffer they were "
        "read into, so a file is held about once, and the default budget lets two be worked on while a "
        "third is written.",
        "",
    ]


def page_runs(study, extra):
    """Three runs of the real page (tools/bench-page.mjs with `extra` arguments): the best
    time, with the highest peak memory of the three; None when a run fails."""
    tries = []
    for _ in range(3):
        r = subprocess.run(["node", os.path.join(ROOT, "tools", "bench-page.mjs"), study, *extra],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"browser run failed: {r.stderr[-800:]}", file=sys.stderr)
            return None
        tries.append(json.loads(r.stdout.strip().splitlines()[-1]))
    best = min(tries, key=lambda b: b["seconds"])
    best["peakRendererRssMiB"] = max(b["peakRendererRssMiB"] for b in tries)
    best["coreMemoryMiB"] = core_memory_peak(tries)
    return best


def core_memory_peak(tries):
    """The largest WebAssembly memory of the core, in the main worker and in a cleaner, over
    several page runs (tools/bench-page.mjs's coreMemoryMiB)."""
    return {
        "main": max(t["coreMemoryMiB"]["main"] for t in tries),
        "cleaner": max((m for t in tries for m in t["coreMemoryMiB"]["cleaners"]), default=0),
        "cleaners": max(len(t["coreMemoryMiB"]["cleaners"]) for t in tries),
    }


def core_memory_sentence(core):
    """What the core's WebAssembly memory came to in the page, as a sentence."""
    return (f"The core's WebAssembly memory, which only grows, came to {core['main']:.1f} MiB in the page's "
            f"main worker (reading archives, the package) and at most {core['cleaner']:.1f} MiB in each of "
            f"its {core['cleaners']} cleaners (de-identifying the files).")


def noisy_bench(work, slices):
    """The same CT series with a scanner's noise (`obscura sample --noisy-ct-slices`): it
    deflates about 1.4:1 as real CT does, where the plain series deflates 50:1, so compressing
    each file into the package weighs as it would on real images. The native one-thread runs,
    with and without the ZIP, Chromium only reading the files, and the page: markdown lines."""
    study = os.path.join(work, "noisy")
    subprocess.run([CLI, "sample", study, "--noisy-ct-slices", str(slices)], check=True)
    files = sorted(os.listdir(study))
    mb = sum(os.path.getsize(os.path.join(study, f)) for f in files) / 1e6
    out = os.path.join(work, "noisy-out")

    def clear():
        shutil.rmtree(out, ignore_errors=True)
        if os.path.exists(out + ".zip"):
            os.remove(out + ".zip")

    deid = [CLI, "deid", study, "--no-key-images", "--out", out, "--jobs", "1"]
    plain, _ = measure("obscura", deid, clear)
    zipped, _ = measure("obscura", deid + ["--zip", out + ".zip"], clear)
    packaged = os.path.getsize(out + ".zip") / 1e6 if os.path.exists(out + ".zip") else float("nan")
    rows = [("Obscura CLI, one thread (`--jobs 1`)", plain),
            ("Obscura CLI, one thread, also writing the package as a ZIP (`--jobs 1 --zip`)", zipped)]
    reading = read_floor(study)
    if reading:
        rows.append(("Chromium only reading the same files, nothing else", reading["seconds"]))
    page = page_runs(study, [])
    if page:
        rows.append(("Obscura in Chromium (the real page)", page["seconds"]))
    lines = [
        "## CT slices that hardly compress",
        "",
        f"The same kind of series with a scanner's noise in every image ({len(files)} slices, "
        f"{mb:.0f} MB; the package's ZIP: {packaged:.0f} MB, where the plain series deflates 50:1). "
        "Compressing each file into the package then costs about what it would on real images.",
        "",
        "| run | seconds | MB/s | time vs the CLI doing the page's work |",
        "|---|---:|---:|---:|",
    ]
    for label, t in rows:
        lines.append(f"| {label} | {t:.2f} | {mb / t:.0f} | {t / zipped:.2f}× |")
    if page:
        lines += ["", f"Here the page reaches {zipped / page['seconds']:.2f}× the speed of the native "
                      f"run doing the same work (target: ≥ 0.5×), and {plain / page['seconds']:.2f}× "
                      "that of the native run that writes no package.", ""]
    return lines


def read_floor(study):
    """Chromium reading the same files and doing nothing else (tools/bench-read.mjs): the
    browser's own floor for the page; None when it fails."""
    r = subprocess.run(["node", os.path.join(ROOT, "tools", "bench-read.mjs"), study],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"browser read floor failed: {r.stderr[-800:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def core_bench(study):
    """The page's core alone in Chromium (tools/bench-core.mjs: a cleaner of the pool on files
    in memory, one worker), and the same work natively (criterion's CLEANER_BENCH in
    benches/hot_paths.rs, from the last `make bench-micro`): (µs a file in the browser,
    µs natively), or None when either is missing."""
    # The best of three browsers, as every other row is the best of three runs (one
    # browser's compiled code can be a tenth slower than another's on the same files).
    runs = []
    for _ in range(3):
        r = subprocess.run(["node", os.path.join(ROOT, "tools", "bench-core.mjs"), study],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"core bench failed: {r.stderr[-800:]}", file=sys.stderr)
            return None
        runs.append(json.loads(r.stdout.strip().splitlines()[-1])["perFileUs"])
    browser = min(runs)
    native = criterion_means().get("metadata/the page's cleaner on a 512x512 CT slice (de-identify, JSON, ZIP entry)")
    return (browser, native) if native else None


def criterion_means():
    """{title: mean µs} of the last `make bench-micro` (target/criterion)."""
    base = os.path.join(ROOT, "target", "criterion")
    means = {}
    for dirpath, _, files in os.walk(base):
        if os.path.basename(dirpath) == "new" and "estimates.json" in files:
            with open(os.path.join(dirpath, "estimates.json")) as f:
                mean = json.load(f)["mean"]["point_estimate"]
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            means[bench.get("title") or bench.get("full_id")] = mean / 1000
    return means


def export_lines():
    """The package going out of the page (tools/bench-export.mjs): SHA-256 for the export log,
    and AES-256 encryption when the user gives a password."""
    r = subprocess.run(["node", os.path.join(ROOT, "tools", "bench-export.mjs")],
                       capture_output=True, text=True, check=True)
    cases = {c["case"]: c for c in map(json.loads, r.stdout.split("\n")[:-1])}
    plain, enc = cases["plain"], cases["password"]
    return ["", "## The package going out of the page", "",
            "The page's WebAssembly core in Node's V8 (`tools/bench-export.mjs`), over a 64 MiB "
            "archive of 128 entries of 512 KiB, best of 3:", "",
            "| package | MiB/s | seconds for 1 GiB |", "|---|---:|---:|",
            f"| plain (SHA-256 for the export log) | {plain['mibPerS']:.0f} | {1024 / plain['mibPerS']:.0f} |",
            f"| password-protected (AES-256, a key derived per entry, + SHA-256) | {enc['mibPerS']:.0f} | "
            f"{1024 / enc['mibPerS']:.0f} |", "",
            "Natively, `package/encrypt the ZIP entry of a CT slice` in the criterion table below "
            "(AES with the processor's instructions). In WebAssembly AES is computed in tables of "
            "bits (no AES instruction there); the time is spent once, when the package is "
            "downloaded, after the files were de-identified."]


def criterion_lines():
    """The last `make bench-micro` results (target/criterion), if any, as a table."""
    rows = list(criterion_means().items())
    if not rows:
        return []
    return [
        "## Hot paths (criterion)",
        "",
        "From the last `make bench-micro` (benches/hot_paths.rs), mean time per call:",
        "",
        "| what | µs |",
        "|---|---:|",
    ] + [f"| {name} | {us:.1f} |" for name, us in sorted(rows)] + [""]


def table(rows, mb, count):
    """The Markdown table of the runs `metadata_rows` gave, for `count` files of `mb` MB."""
    floor, ours = rows[0][1], rows[1][1]
    lines = [
        "| tool | seconds | MB/s | files/s | peak RSS (MiB) | core's WebAssembly memory (MiB) "
        "| time vs Obscura | time vs copy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    mib = lambda v: "–" if v != v else f"{v:.0f}"
    for label, t, rss, *wasm in rows:
        lines.append(
            f"| {label} | {t:.2f} | {mb / t:.0f} | {count / t:.0f} | {mib(rss)} "
            f"| {mib(wasm[0] if wasm else float('nan'))} | {t / ours:.1f}× | {t / floor:.1f}× |"
        )
    return lines


def core_total(page):
    """The core's WebAssembly memory in all the page's workers (MiB), from `page_runs`."""
    core = page["coreMemoryMiB"]
    return core["main"] + core["cleaner"] * core["cleaners"]


def is_peer(label):
    """Whether a row of `metadata_rows` is a peer's (not the floor, Obscura or the browser's)."""
    return not label.startswith(("copy", "Obscura", "Chromium"))


# Each slice of a noisy CT series in one of five compressed transfer syntaxes in turn (four
# by DCMTK, JPEG 2000 by pydicom with OpenJPEG), and ultrasound cines of 20 frames, 640x480
# RGB, in JPEG Baseline (DCMTK): argv = crossval folder, CT folder, output folder, cines.
MIXED_SCRIPT = r"""
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import check_pixels as c
import pydicom
from pydicom.uid import JPEG2000Lossless
ct, out, cines = sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(out, exist_ok=True)
tools = [["dcmcjpeg", "+e1"], ["dcmcjpls", "+el"], ["dcmcrle"], ["dcmconv", "+td"]]
for i, name in enumerate(sorted(os.listdir(ct))):
    src, dst = os.path.join(ct, name), os.path.join(out, f"ct{i:04d}.dcm")
    if i % 5 < 4:
        subprocess.run(tools[i % 5] + [src, dst], check=True)
    else:
        ds = pydicom.dcmread(src)
        ds.compress(JPEG2000Lossless)
        ds.save_as(dst)
for i in range(cines):
    # (Without the fake text burned in: a file that says it has some is left out of the
    # package unless its pixels are cleaned, and this set is about metadata.)
    arr, text, _ = c.ultrasound(20, rows=480, cols=640, rgb=True)
    arr[:, text] = 8
    native = os.path.join(out, f"us{i:03d}.native")
    c.write_array(arr, native, True)
    ds = pydicom.dcmread(native)
    ds.BurnedInAnnotation = "NO"
    ds.save_as(native)
    subprocess.run(["dcmcjpeg", "+eb", native, os.path.join(out, f"us{i:03d}.dcm")], check=True)
    os.remove(native)
"""


def mixed_bench(work, slices, cines):
    """The metadata runs on a mixed compressed set (see MIXED_SCRIPT): markdown lines."""
    needed = ["dcmcjpeg", "dcmcjpls", "dcmcrle", "dcmconv"]
    if slices <= 0:
        return []
    if not os.path.exists(PY) or not all(shutil.which(t) for t in needed):
        return ["## A mixed compressed set", "",
                "Not measured: it is made with DCMTK and the project's Python (`make setup`).", ""]
    ct = os.path.join(work, "mixed-ct")
    subprocess.run([CLI, "sample", ct, "--noisy-ct-slices", str(slices)], check=True, capture_output=True)
    study = os.path.join(work, "mixed")
    subprocess.run([PY, "-c", MIXED_SCRIPT, os.path.join(ROOT, "tests", "crossval"), ct, study, str(cines)],
                   check=True)
    shutil.rmtree(ct, ignore_errors=True)
    files = sorted(os.listdir(study))
    mb = sum(os.path.getsize(os.path.join(study, f)) for f in files) / 1e6
    rows, missing, runs = metadata_rows(work, study, warm_runs=False)
    lines = [
        "## A mixed compressed set",
        "",
        f"{len(files)} files ({mb:.0f} MB): {slices} slices of the noisy CT series, each in one of "
        "JPEG Lossless (first-order prediction), JPEG-LS lossless, RLE Lossless, Deflated Explicit "
        f"VR Little Endian (DCMTK) and JPEG 2000 lossless (pydicom with OpenJPEG) in turn, and {cines} "
        "ultrasound cines of 20 frames, 640×480 RGB, in JPEG Baseline (DCMTK). Metadata only: the "
        "compressed pixels are kept as they are. The best time of three runs each.",
        "",
    ] + table(rows, mb, len(files))
    if missing:
        lines += ["", "Not measured (not installed): " + ", ".join(missing) + "."]
    floor, ours, one = rows[0][1], rows[1][1], rows[2][1]
    peers = [t for label, t, *_ in rows if is_peer(label)]
    lines.append("")
    if peers:
        lines.append(f"Obscura takes {ours / min(peers):.1f}× the time of the fastest peer and "
                     f"{ours / floor:.1f}× the copy floor.")
    page = runs["browser"]
    if page:
        lines.append(f"The page reaches {one / page['seconds']:.2f}× the native one-thread speed, and "
                     f"{runs['zipped'][1] / page['seconds']:.2f}× that of the native run doing the "
                     "page's work (every file also put into a ZIP package).")
    return lines + [""]


def metadata_rows(work, study, warm_runs=True):
    """Every metadata run on the files of `study`, one after the other: the copy floor, the
    CLI (all cores, one thread, one thread writing the package's ZIP), the peers that are
    installed, Chromium only reading the files, and the page (and, with `warm_runs`, the page
    again in the same tab). Returns (rows of (label, seconds, peak MiB), the peers missing,
    {"zipped", "reading", "browser", "warm"}: what the targets need)."""
    files = sorted(os.listdir(study))
    rows = []

    def fresh(name, make=False):
        """An output folder's path, and what empties it (and makes it, with `make`) before each
        run."""
        path = os.path.join(work, name)

        def clear():
            shutil.rmtree(path, ignore_errors=True)
            if make:
                os.makedirs(path)

        return path, clear

    out, clear = fresh("cp")
    rows.append(("copy floor (cp -r)", *measure("cp", ["cp", "-r", study, out], clear)))
    # (Without key images, which no peer makes and the page makes only for the download.)
    deid = [CLI, "deid", study, "--no-key-images", "--out"]
    out, clear = fresh("obscura")
    rows.append((f"Obscura CLI (Basic Profile, all options off; {os.cpu_count()} threads)",
                 *measure("obscura", deid + [out], clear)))
    out, clear = fresh("obscura1")
    rows.append(("Obscura CLI, one thread (`--jobs 1`)",
                 *measure("obscura", deid + [out, "--jobs", "1"], clear)))
    # The page's work: every file also compressed into the package (a ZIP).
    out, clear = fresh("obscura1zip")
    zipped = ("Obscura CLI, one thread, also writing the package as a ZIP (`--jobs 1 --zip`)",
              *measure("obscura", deid + [out, "--jobs", "1", "--zip", out + ".zip"], clear))
    rows.append(zipped)
    missing = []
    if shutil.which("dcmodify"):
        target, clear = fresh("dcmodify")

        def copy():
            clear()
            shutil.copytree(study, target)

        t, rss = measure("dcmodify", ["dcmodify"] + DCMODIFY_ARGS + [os.path.join(target, f) for f in files], copy)
        rows.append(("DCMTK dcmodify (11 attributes + private, in place)", t, rss))
    else:
        missing.append("DCMTK dcmodify")
    if shutil.which("gdcmanon") and shutil.which("openssl"):
        cert = os.path.join(work, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(work, "key.pem"), "-out", cert, "-days", "1", "-subj", "/CN=bench"],
                       check=True, capture_output=True)
        out, clear = fresh("gdcmanon", make=True)
        rows.append(("GDCM gdcmanon (PS3.15 E.1, originals encrypted into the file)",
                     *measure("gdcmanon", ["gdcmanon", "-e", "-c", cert, "-i", study, "-o", out], clear)))
    else:
        missing.append("GDCM gdcmanon")
    if os.path.exists(PEERS_PY):
        out, clear = fresh("deid")
        rows.append(("pydicom/deid 0.4.13 (default recipe, private tags removed)",
                     *measure("deid", [PEERS_PY, os.path.join(ROOT, "tools", "peers", "deid_peer.py"), study, out],
                              clear)))
    else:
        missing.append("pydicom/deid")
    if os.path.isdir(os.path.join(PEERS_NODE, "dcmjs")):
        out, clear = fresh("dcmjs")
        os.environ["NODE_PATH"] = PEERS_NODE
        rows.append(("dcmjs 0.52.2 in Node (anonymizer.cleanTags)",
                     *measure("dcmjs", ["node", os.path.join(ROOT, "tools", "peers", "dcmjs-peer.mjs"), study, out],
                              clear)))
    else:
        missing.append("dcmjs")
    if os.path.exists(PY):
        out, clear = fresh("pydicom")
        rows.append(("pydicom script (PN/dates/IDs + private)",
                     *measure("pydicom", [PY, "-c", PYDICOM_SCRIPT, study, out], clear)))

    browser = None
    warm = None
    reading = None
    if shutil.which("node") and os.path.exists(os.path.join(ROOT, "pkg", "obscura_bg.wasm")):
        reading = read_floor(study)
        if reading:
            rows.append((f"Chromium only reading the same files, nothing else ({reading['workers']} workers; "
                         "the browser's floor)", reading["seconds"], float("nan")))
        browser = page_runs(study, [])
        if browser:
            rows.append(("Obscura in Chromium (wasm, the real page, from files added to all done)",
                         browser["seconds"], browser["peakRendererRssMiB"], core_total(browser)))
            if warm_runs:
                warm = page_runs(study, ["--warm"])
        if warm:
            rows.append(("Obscura in Chromium, the same files again after \"Start over\"",
                         warm["seconds"], float("nan")))

    return rows, missing, {"zipped": zipped, "reading": reading, "browser": browser, "warm": warm}


def work_dir():
    """Where the studies and every tool's output go: a RAM-backed file system (/dev/shm) when
    there is one with room, so that what is measured is each tool's own work and not the
    disk's (on ext4, creating files right after the last run's were deleted makes the
    allocator search past them: the same run took from 0.14 to 0.55 s on this VM). Returns
    the folder and a phrase for the report."""
    shm = "/dev/shm"
    try:
        room = shutil.disk_usage(shm).free if os.access(shm, os.W_OK) else 0
    except OSError:
        room = 0
    if room >= 8 << 30:
        return tempfile.mkdtemp(prefix="obscura-bench-", dir=shm), "in memory (tmpfs, /dev/shm)"
    return tempfile.mkdtemp(prefix="obscura-bench-"), "in the page cache"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--cines", type=int, default=20,
                    help="ultrasound cines (60 frames, 800x600 RGB, burned-in text) for pixel cleaning")
    ap.add_argument("--noisy-slices", type=int, default=100,
                    help="CT slices with a scanner's noise, which hardly compress (page vs CLI with ZIP)")
    ap.add_argument("--mixed-slices", type=int, default=100,
                    help="noisy CT slices of the mixed compressed set (five transfer syntaxes)")
    ap.add_argument("--mixed-cines", type=int, default=10,
                    help="ultrasound cines (20 frames, 640x480 RGB, JPEG Baseline) of the mixed set")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()
    if not os.path.exists(CLI):
        sys.exit("build the CLI first: cargo build --release")

    work, where = work_dir()
    study = os.path.join(work, "study")
    subprocess.run([CLI, "sample", study, "--ct-slices", str(args.slices)], check=True)
    files = sorted(os.listdir(study))
    mb = sum(os.path.getsize(os.path.join(study, f)) for f in files) / 1e6

    rows, missing, runs = metadata_rows(work, study)
    zipped, reading, browser, warm = (runs[k] for k in ("zipped", "reading", "browser", "warm"))

    floor = rows[0][1]
    ours = rows[1][1]
    pixel_lines = pixel_bench(work, args.cines)
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (tools/bench.py): a fake CT series of {len(files)} slices, 512×512, "
        f"16-bit ({mb:.0f} MB), on this machine ({os.cpu_count()} cores). The best time of three runs "
        f"each (and the highest peak memory), files and every tool's output {where}.",
        "",
    ] + table(rows, mb, len(files))
    if missing:
        lines += ["", "Not measured (not installed; `bash tools/peers/install.sh`): " + ", ".join(missing) + "."]
    lines += [
        "",
        "Peers do less than Obscura here (a fixed list of attributes, no UID remapping, no change log, no",
        "package); the comparison is of throughput, not of what each removes. Obscura's runs make no key",
        "images (`--no-key-images`: no peer makes any, and the page makes them only for the download).",
        "The browser row's memory is the peak resident memory of Chromium's renderer processes (page and",
        "workers), sampled every 100 ms, and the core's WebAssembly memories in the page's workers (the main",
        "worker's and each cleaner's, in all; a WebAssembly memory only grows, so its size at the end is its peak).",
    ]
    if browser:
        lines += [
            "",
            f"In the browser, building the package for download (key images, directory) took a further "
            f"{browser['packageSeconds']:.2f} s. {core_memory_sentence(browser['coreMemoryMiB'])}",
        ]
    peers = [t for label, t, *_ in rows if is_peer(label)]
    target = ["", "## Against the targets (issue: fast and bounded)", ""]
    if peers:
        target.append(f"- Metadata: Obscura takes {ours / min(peers):.1f}× the time of the fastest peer "
                      f"(target: 0.1×, i.e. 10× faster) and {ours / floor:.1f}× the copy floor (target: ≤ 2×).")
        if min(peers) < 10 * floor:
            target.append(f"  The fastest peer itself takes {min(peers) / floor:.1f}× the copy floor: 10× "
                          "faster than it would be faster than copying the files, which no tool that "
                          "reads and writes them can be.")
        target.append(f"- Threads: one thread takes {rows[2][1] / ours:.1f}× the time of {os.cpu_count()} threads.")
    if browser:
        line = (f"- Browser: the page reaches {rows[2][1] / browser['seconds']:.2f}× the native "
                f"one-thread speed (target: ≥ 0.5×) in a fresh browser, and "
                f"{zipped[1] / browser['seconds']:.2f}× that of the native run doing the page's work "
                "(every file also compressed into a ZIP package)")
        if warm:
            line += (f"; {rows[2][1] / warm['seconds']:.2f}× and {zipped[1] / warm['seconds']:.2f}× "
                     "for the same files again in the same tab")
        line += (f". That is with its pool of {os.cpu_count()} workers, including reading "
                 "each file from the browser's file store and drawing a row per file. Each worker "
                 "warms the core up on the built-in fake study while the page waits for files, so "
                 "that the browser has optimised the core's code by the first file.")
        if reading:
            line += (f" Chromium itself, only reading the same files in {reading['workers']} workers and "
                     f"doing nothing with them, takes {reading['seconds']:.2f} s: "
                     f"{reading['seconds'] / rows[2][1]:.2f}× the whole native one-thread run, so "
                     f"the target leaves the page {max(0.0, 2 * rows[2][1] - reading['seconds']):.2f} s "
                     "for everything but reading; the page takes "
                     f"{browser['seconds'] / reading['seconds']:.1f}× the browser's own reading time.")
        target.append(line + f" On these {os.cpu_count()} cores the page is short of CPU, not of work: "
                      "the browser process reading the files for the workers, and the scripts around "
                      "the core (streams, messages), take more CPU than the core's de-identification "
                      "(`disabled-by-default-v8.cpu_profiler` in a Chromium trace shows it).")
        core = core_bench(study)
        if core:
            target.append(f"- The core alone (`tools/bench-core.mjs`: what a cleaner of the page's pool does "
                          "with a file, on files already in memory, in one worker): "
                          f"{core[0]:.0f} µs a CT slice in Chromium, {core[1]:.0f} µs natively (criterion), "
                          f"so the compiled core runs at {core[1] / core[0]:.2f}× its native speed "
                          "(target: ≥ 0.5×; the best of three browsers, and from one run to the next "
                          "either figure moves by up to a tenth). About a third of the time in the "
                          "browser is the CRC-32 of each ZIP entry: natively the processor computes it "
                          "(carry-less multiply), in WebAssembly it is looked up in tables (src/crc.rs).")
    target.append("- Memory on a study larger than memory (a generated 4 GB archive through the CLI and "
                  "the page): `make bench-huge`, in [benchmarks-huge.md](benchmarks-huge.md).")
    noisy_lines = []
    if browser and args.noisy_slices > 0:
        noisy_lines = noisy_bench(work, args.noisy_slices)
    mixed_lines = mixed_bench(work, args.mixed_slices, args.mixed_cines)
    lines += target + [""] + noisy_lines + mixed_lines + pixel_lines + export_lines() + criterion_lines()
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

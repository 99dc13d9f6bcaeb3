"""The Python package as a user gets it: its wheel (built by `make python`) installed into a
fresh venv, used there, and its output checked against the CLI's, byte for byte.

Run by `make test-python` with the test venv's Python (which has pydicom):
    .venv/bin/python tests/python/check_package.py --wheel-dir target/wheels --cli target/release/obscura

Inputs: Obscura's fake sample study, pydicom's own test files (written by others, of many
vendors and encodings), and a file that is not DICOM. Checks:
- `python -m obscura deid … --zip` and `obscura.deid(…)` write what `obscura deid` writes,
  every file and the ZIP, byte for byte (same key and options);
- `obscura.Session` (first pass, then one file at a time, from four threads at once) gives
  the CLI's DICOM files, byte for byte; pydicom reads every one;
- a file left out raises the typed error (`NotDicom`, `BurnedIn`), a wrong option ValueError;
- no fake identifier of the sample study is left in anything written.
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pydicom

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What runs in the fresh venv: the package's API, its results written to OUT for the checks
# here (which have pydicom).
IN_VENV = r'''
import concurrent.futures, json, os, sys
import obscura
inputs, key, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(os.path.join(inputs, n) for n in os.listdir(inputs))
seen = {"version": obscura.__version__}

# A batch through the API: the command's own run.
seen["deid"] = obscura.deid([inputs], os.path.join(out, "api-out"), key_file=key,
                            zip=os.path.join(out, "api.zip"))

# One file at a time, with a first pass, from four threads sharing the session.
session = obscura.Session(key_file=key, first_pass=files)
def one(path):
    try:
        r = session.deidentify(path)
        return path, {"ok": True, "changes": len(r.changes), "warnings": r.warnings,
                      "detections": len(r.detections), "data": r.data.hex()}
    except obscura.ObscuraError as e:
        return path, {"ok": False, "class": type(e).__name__, "code": e.code, "reason": e.reason}
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    results = dict(pool.map(one, files))
os.makedirs(os.path.join(out, "session"))
seen["session"] = {}
for path, r in results.items():
    if r.get("ok"):
        with open(os.path.join(out, "session", os.path.basename(path) + ".deid"), "wb") as f:
            f.write(bytes.fromhex(r.pop("data")))
    seen["session"][os.path.basename(path)] = r

# Typed errors.
try:
    obscura.deidentify(b"not a DICOM file at all", key_file=key)
except obscura.NotDicom as e:
    seen["not_dicom"] = [e.code, str(e)]
try:
    obscura.Session(options=["no-such-option"])
except ValueError as e:
    seen["bad_option"] = str(e)
us = [f for f in files if "_US_" in f]
if us:
    try:
        obscura.deidentify(us[0], key_file=key, detect_text=False)
    except obscura.BurnedIn as e:
        seen["burned_in"] = e.code
    r = obscura.deidentify(us[0], key_file=key)
    seen["us_detections"] = len(r.detections)
print(json.dumps(seen))
'''


def ultrasound(path):
    """A fake 320x240 ultrasound frame with a fake name burned in, white on the image, that
    says so (Burned In Annotation YES)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    img = Image.new("RGB", (320, 240), (20, 20, 20))
    draw = ImageDraw.Draw(img)
    draw.pieslice((40, -120, 280, 220), 60, 120, fill=(90, 90, 90))
    draw.text((10, 8), "DOE^FAKE 1901", fill=(255, 255, 255), font=ImageFont.load_default(size=18))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.Modality = "DOE^FAKE", "FAKE-US-1901", "US"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 240, 320, 3, "RGB"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
    ds.PixelData = np.asarray(img, dtype=np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)


def newest_wheel(wheel_dir):
    """The wheel `make python` built last into `wheel_dir`."""
    wheels = sorted(glob.glob(os.path.join(wheel_dir, "obscura-*.whl")), key=os.path.getmtime)
    assert wheels, f"no wheel in {wheel_dir}: run `make python`"
    return wheels[-1]


def fixture(cli, work, ultrasounds=1):
    """The inputs in `work/in`: the fake sample study, `ultrasounds` fake ultrasound frames with
    a fake name burned in, pydicom's test files and a file that is not DICOM; with the fake
    identifiers they hold, and a project key file."""
    inputs = os.path.join(work, "in")
    os.makedirs(inputs)
    p = run([cli, "sample", inputs, "--canaries", os.path.join(work, "canaries.txt")])
    assert p.returncode == 0, p.stderr
    with open(os.path.join(work, "canaries.txt"), encoding="utf-8") as f:
        canaries = [c.encode() for c in f.read().split("\n") if c] + [b"FAKE-US-1901", b"DOE^FAKE"]
    for i in range(ultrasounds):
        ultrasound(os.path.join(inputs, f"FAKEDOE_US_{i + 1}.dcm"))
    test_files = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    for i, path in enumerate(sorted(glob.glob(os.path.join(test_files, "*.dcm")))):
        shutil.copy(path, os.path.join(inputs, f"pydicom-{i:03}-{os.path.basename(path)}"))
    with open(os.path.join(inputs, "README.txt"), "w") as f:
        f.write("not a DICOM file\n")
    key = os.path.join(work, "project.key")
    with open(key, "w") as f:
        f.write("a passphrase for the python tests\nsalt: 00112233445566778899aabbccddeeff\n")
    return inputs, canaries, key


def unpacked(wheel, site):
    """`wheel` unpacked into the folder `site`, for PYTHONPATH (without a venv of its own)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-index", "--no-deps", "--target", site, wheel], check=True)
    return site


def run(cmd):
    """`cmd`'s exit status and output, as text."""
    return subprocess.run(cmd, capture_output=True, text=True)


def files_under(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            path = os.path.join(dirpath, n)
            out[os.path.relpath(path, root)] = path
    return out


def same_tree(a, b, what):
    fa, fb = files_under(a), files_under(b)
    assert sorted(fa) == sorted(fb), f"{what}: different files: {sorted(set(fa) ^ set(fb))[:10]}"
    for rel in fa:
        with open(fa[rel], "rb") as x, open(fb[rel], "rb") as y:
            assert x.read() == y.read(), f"{what}: {rel} differs"
    return fa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel-dir", default=os.path.join(ROOT, "target", "wheels"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "target", "release", "obscura"))
    a = ap.parse_args()
    wheel = newest_wheel(a.wheel_dir)
    work = tempfile.mkdtemp(prefix="obscura-python-")
    try:
        # A fresh venv with the wheel alone (it needs nothing else, so nothing is fetched).
        venv = os.path.join(work, "venv")
        subprocess.run(["python3", "-m", "venv", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
                        wheel], check=True)

        inputs, canaries, key = fixture(a.cli, work)

        # The CLI, the module's command and the API's batch: the same files, byte for byte.
        cli = run([a.cli, "deid", inputs, "--out", os.path.join(work, "cli-out"), "--key-file", key,
                   "--zip", os.path.join(work, "cli.zip")])
        assert cli.returncode in (0, 1), cli.stderr
        mod = run([py, "-m", "obscura", "deid", inputs, "--out", os.path.join(work, "mod-out"), "--key-file", key,
                   "--zip", os.path.join(work, "mod.zip")])
        assert mod.returncode == cli.returncode, mod.stderr
        assert mod.stdout == cli.stdout
        cli_files = same_tree(os.path.join(work, "cli-out"), os.path.join(work, "mod-out"), "python -m obscura deid")
        with open(os.path.join(work, "cli.zip"), "rb") as x, open(os.path.join(work, "mod.zip"), "rb") as y:
            assert x.read() == y.read(), "python -m obscura: the ZIP differs"
        dicom = [r for r in cli_files if r.startswith("DICOM") and os.path.basename(r) != "DICOMDIR"]
        assert len(dicom) >= 40, f"only {len(dicom)} files de-identified"

        out = os.path.join(work, "api")
        os.makedirs(out)
        p = run([py, "-c", IN_VENV, inputs, key, out])
        assert p.returncode == 0, p.stderr
        seen = json.loads(p.stdout.strip().splitlines()[-1])
        assert seen["deid"] == cli.returncode
        same_tree(os.path.join(work, "cli-out"), os.path.join(out, "api-out"), "obscura.deid")
        with open(os.path.join(work, "cli.zip"), "rb") as x, open(os.path.join(out, "api.zip"), "rb") as y:
            assert x.read() == y.read(), "obscura.deid: the ZIP differs"

        # The session's files are the CLI's, byte for byte, and pydicom reads each one.
        digest = lambda path: hashlib.sha256(open(path, "rb").read()).hexdigest()
        from_cli = sorted(digest(cli_files[r]) for r in dicom)
        session_dir = os.path.join(out, "session")
        from_session = sorted(digest(os.path.join(session_dir, n)) for n in os.listdir(session_dir))
        assert from_session == from_cli, f"{len(from_session)} files from the session, {len(from_cli)} from the CLI"
        for n in os.listdir(session_dir):
            ds = pydicom.dcmread(os.path.join(session_dir, n))
            assert ds.get("PatientIdentityRemoved") == "YES", n
        left_out = {n: r for n, r in seen["session"].items() if not r["ok"]}
        assert left_out["README.txt"]["class"] == "NotDicom", left_out
        for n, r in left_out.items():
            assert r["reason"] and r["code"], (n, r)
        assert seen["not_dicom"][0] == "not-dicom" and "DICOM" in seen["not_dicom"][1], seen["not_dicom"]
        assert "no-such-option" in seen["bad_option"], seen["bad_option"]
        assert seen.get("burned_in") == "burned-in", seen
        assert seen.get("us_detections", 0) >= 1, seen

        # No fake identifier anywhere in what was written.
        for root in (os.path.join(work, "mod-out"), out):
            for rel, path in files_under(root).items():
                data = open(path, "rb").read()
                for c in canaries:
                    assert c not in data, f"{c!r} leaked in {rel}"
        print(f"python package: {len(dicom)} files, byte for byte as the CLI's, from `python -m obscura`, "
              f"obscura.deid and obscura.Session (4 threads); typed errors; {os.path.basename(wheel)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

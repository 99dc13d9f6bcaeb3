#!/usr/bin/env python3
"""Burned-in text blanked in every transfer syntax Obscura can decode.

Generated images (8-bit and 12-bit monochrome, MONOCHROME1, 8-bit RGB, native YBR_FULL_422,
palette colour whose black is not index 0; single- and multi-frame)
carry bright "text" strokes in a known rectangle. Each is written natively with pydicom, then
converted by tools Obscura did not write: DCMTK (big endian, deflate, RLE, JPEG baseline,
extended, lossless process 14 and SV1, JPEG-LS greyscale and colour in each interleave mode;
JPEG and JPEG-LS frames split over several fragments, with and without an offset table),
pydicom's encoders (JPEG 2000 lossless and lossy through pylibjpeg-openjpeg) and imagecodecs
(High-Throughput JPEG 2000, lossless and lossy, through OpenJPH). The CLI runs on each with a
rule that names the rectangle.

For each output:
- inside the rectangle every pixel of every frame is the image's black;
- outside it the pixels are unchanged: bit-exact for lossless input, within a small tolerance
  of DCMTK's / OpenJPEG's / OpenJPH's own decoding for lossy input;
- pydicom and DCMTK (dcmj2pnm) both decode it; BurnedInAnnotation is NO; lossy input says
  LossyImageCompression 01;
- JPEG Baseline and Extended stay JPEG, blanked in whole blocks inside the compressed data:
  outside the blocks the region touches (one chroma sample more where colour is subsampled,
  which decoders smooth), DCMTK decodes the output to exactly the samples it decodes the input
  to;
- what Obscura cannot decode (NOT_DECODED; none today) is excluded with that reason,
  never passed through.

Overlays spelling a fake name (one in Overlay Data, one in an unused high bit of the pixels, on
a 2-frame image): no 60xx attribute is left, no bit above High Bit is set, the image itself is
unchanged. Automatic detection (--detect-text) on generated ultrasound with burned-in text, in
several transfer syntaxes: the text is gone, and the key images show none of it.

Files others wrote (pydicom-data): a vendor's ultrasound whose palette is written as segments
(little endian implicit, big endian, and DCMTK's RLE, JPEG-LS, deflate and JPEG lossless of
it), blanked by a rule: the region shows black through the palette as pydicom expands it, the
rest is unchanged, and a key image is drawn. 32-bit RGB and RT dose images and 1-bit
segmentations (pydicom's and pydicom-data's; little, big endian and RLE) with a box blanked the
same way.

Usage: check_pixels.py --cli target/release/obscura
       check_pixels.py --make-for-page DIR; check_pixels.py --verify-package DIR UNZIPPED
       (the browser test: the same checks on a package the page made)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import imagecodecs
import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    generate_uid,
)

REGION = {"x": 10, "y": 6, "w": 70, "h": 14}
RULES = {"rules": [{"name": "test text band", "modality": "OT",
                    "regions": [REGION]}]}
ROWS, COLS = 96, 128


# Inputs Obscura blanks inside the compressed data: their transfer syntax is kept.
KEPT_JPEG = {"jpeg-baseline", "jpeg-extended"}
JPEG_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace")


def inside_mask():
    m = np.zeros((ROWS, COLS), dtype=bool)
    m[REGION["y"]:REGION["y"] + REGION["h"], REGION["x"]:REGION["x"] + REGION["w"]] = True
    return m


def make_image(kind, frames):
    """A smooth background with bright strokes ("text") inside the region."""
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    maxv = {"mono8": 255, "mono1": 255, "rgb8": 255, "mono12": 4095, "palette8": 255, "ybr422": 255,
            "rgb12": 4095}[kind]
    stacks = []
    for f in range(frames):
        base = ((xx * 3 + yy * 2 + f * 7) % (maxv // 2)) + maxv // 8
        strokes = ((xx // 3 + yy // 2 + f) % 3 == 0) & inside_mask()
        img = np.where(strokes, maxv, base)
        if kind in ("rgb8", "ybr422", "rgb12"):
            img = np.stack([img, (img * 3 // 4), (maxv - img) // 2 + maxv // 6], axis=-1)
        stacks.append(img)
    arr = np.stack(stacks)
    dtype = np.uint16 if kind in ("mono12", "rgb12") else np.uint8
    return arr.astype(dtype)


def save_native(ds, path):
    """Write a data set as Part 10, Explicit VR Little Endian."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)


def write_native(kind, frames, path):
    arr = make_image(kind, frames)
    ds = Dataset()
    multi = frames > 1
    ds.SOPClassUID = {
        "mono8": "1.2.840.10008.5.1.4.1.1.7.2" if multi else "1.2.840.10008.5.1.4.1.1.7",
        "mono1": "1.2.840.10008.5.1.4.1.1.7",
        "mono12": "1.2.840.10008.5.1.4.1.1.7.3" if multi else "1.2.840.10008.5.1.4.1.1.7",
        "rgb8": "1.2.840.10008.5.1.4.1.1.7.4" if multi else "1.2.840.10008.5.1.4.1.1.7",
        "rgb12": "1.2.840.10008.5.1.4.1.1.7",
        "ybr422": "1.2.840.10008.5.1.4.1.1.7.4" if multi else "1.2.840.10008.5.1.4.1.1.7",
        "palette8": "1.2.840.10008.5.1.4.1.1.7",
    }[kind]
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "FAKE^BURNEDIN^TEST"
    ds.PatientID = "FAKE-PIXELS-001"
    ds.PatientBirthDate = "19010101"
    ds.PatientSex = "O"
    ds.StudyDate = "20200102"
    ds.StudyTime = "101010"
    ds.AccessionNumber = "FAKEACC9"
    ds.ReferringPhysicianName = "FAKE^DOCTOR"
    ds.StudyID = "1"
    ds.SeriesNumber = "1"
    ds.InstanceNumber = "1"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns = ROWS, COLS
    if kind in ("rgb8", "rgb12"):
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    elif kind == "ybr422":
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.PlanarConfiguration = 0
    elif kind == "palette8":
        # Index 0 is white and 255 black (a reversed grey ramp): the image's black is not 0.
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "PALETTE COLOR"
        ramp = ((255 - np.arange(256)) * 257).astype("<u2").tobytes()
        for colour in ("Red", "Green", "Blue"):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            setattr(ds, f"{colour}PaletteColorLookupTableData", ramp)
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1" if kind == "mono1" else "MONOCHROME2"
    ds.BitsAllocated = 16 if kind in ("mono12", "rgb12") else 8
    ds.BitsStored = 12 if kind in ("mono12", "rgb12") else 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if multi:
        ds.NumberOfFrames = str(frames)
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = "40"
    data = arr if multi else arr[0]
    if kind == "ybr422":
        # Y of each pixel, Cb and Cr once per pair of pixels (those of the first): Y1 Y2 Cb Cr.
        ybr = convert_color_space(arr, "RGB", "YBR_FULL")
        y = ybr[..., 0].reshape(frames, ROWS, COLS // 2, 2)
        cb = ybr[..., 1][:, :, ::2, np.newaxis]
        cr = ybr[..., 2][:, :, ::2, np.newaxis]
        ds.PixelData = np.concatenate([y, cb, cr], axis=-1).astype(np.uint8).tobytes()
        save_native(ds, path)
        return frames_of(pydicom.dcmread(path))
    ds.PixelData = data.tobytes()
    save_native(ds, path)
    return arr


# (name, which kinds, how to make it from the native file, lossless?)
DCMTK = [
    ("bigendian", ["mono8", "mono12", "palette8"], ["dcmconv", "+tb"], True),
    ("deflate", ["mono8", "rgb8", "ybr422"], ["dcmconv", "+td"], True),
    ("rle", ["mono8", "mono1", "mono12", "rgb8", "palette8"], ["dcmcrle"], True),
    ("jpeg-baseline", ["mono8", "rgb8"], ["dcmcjpeg", "+eb"], False),
    ("jpeg-extended", ["mono8", "mono12", "rgb12"], ["dcmcjpeg", "+ee"], False),
    ("jpeg-lossless-14", ["mono8", "mono12", "rgb8"], ["dcmcjpeg", "+el"], True),
    ("jpeg-lossless-sv1", ["mono8", "mono1", "mono12", "rgb8"], ["dcmcjpeg", "+e1"], True),
    ("jpeg-ls", ["mono8", "mono1", "mono12"], ["dcmcjpls", "+el"], True),
    ("jpeg-ls-near", ["mono8", "mono12"], ["dcmcjpls", "+en"], False),
    ("jpeg-ls-colour-none", ["rgb8"], ["dcmcjpls", "+el", "+in"], True),
    ("jpeg-ls-near-colour-none", ["rgb8"], ["dcmcjpls", "+en", "+in"], False),
    ("jpeg-ls-colour", ["rgb8"], ["dcmcjpls", "+el"], True),
    ("jpeg-ls-near-colour", ["rgb8"], ["dcmcjpls", "+en"], False),
    ("jpeg-ls-colour-sample", ["rgb8"], ["dcmcjpls", "+el", "+is"], True),
    ("jpeg-ls-near-colour-sample", ["rgb8"], ["dcmcjpls", "+en", "+is"], False),
    # Frames split over 1 KB fragments, found by the Basic Offset Table or (-ot: left empty)
    # by where each frame's codestream starts.
    ("jpeg-baseline-fragments", ["mono8", "rgb8"], ["dcmcjpeg", "+eb", "+fs", "1", "-ot"], False),
    ("jpeg-extended-fragments", ["mono12"], ["dcmcjpeg", "+ee", "+fs", "1"], False),
    ("jpeg-ls-fragments", ["mono8", "mono12"], ["dcmcjpls", "+el", "+fs", "1", "-ot"], True),
    ("jpeg-ls-colour-fragments", ["rgb8"], ["dcmcjpls", "+el", "+fs", "1"], True),
]
PYDICOM = [
    ("j2k-lossless", ["mono8", "mono12", "rgb8"], JPEG2000Lossless, {}, True),
    ("j2k-lossy", ["mono8"], JPEG2000, {"j2k_cr": [10]}, False),
]
# High-Throughput JPEG 2000, written frame by frame with imagecodecs (OpenJPH):
# (name, which kinds, transfer syntax, encoder options, lossless?)
HTJ2K = [
    ("htj2k-lossless", ["mono8", "mono12", "rgb8"], "1.2.840.10008.1.2.4.201", {}, True),
    ("htj2k-lossy", ["mono8", "rgb8"], "1.2.840.10008.1.2.4.203", {"reversible": False}, False),
]


def write_htj2k(native, src, uid, opts, lossless):
    """The native file with its frames coded as HTJ2K; returns the frames as they decode."""
    ds = pydicom.dcmread(native)
    frames = frames_of(ds)
    coded = [imagecodecs.htj2k_encode(np.ascontiguousarray(f), **opts) for f in frames]
    ds.PixelData = encapsulate(coded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid
    if int(ds.SamplesPerPixel) == 3:
        # The encoder applies the reversible (or irreversible) colour transform.
        ds.PhotometricInterpretation = "YBR_RCT" if lossless else "YBR_ICT"
    if not lossless:
        ds.LossyImageCompression = "01"
    ds.save_as(src, enforce_file_format=True)
    return np.stack([imagecodecs.htj2k_decode(c) for c in coded])


# Transfer syntaxes Obscura cannot decode yet: the file must be excluded with this reason.
# (None today: colour JPEG-LS is decoded however its components are interleaved.)
NOT_DECODED = {}


def reference_pixels(path):
    """A file's pixels as DCMTK decodes them (for lossy input)."""
    fd, native = tempfile.mkstemp(suffix=".native.dcm")
    os.close(fd)
    for tool in (["dcmdjpeg"], ["dcmdjpls"], ["dcmdrle"], ["dcmconv", "+te"]):
        if run(tool + [path, native]).returncode == 0:
            break
    else:
        sys.exit(f"DCMTK could not decode {path}")
    try:
        return frames_of(pydicom.dcmread(native))
    finally:
        os.unlink(native)


def frames_of(ds):
    try:
        arr = ds.pixel_array
    except ValueError as e:
        if "color space" not in str(e):
            raise
        # pydicom converts only 8-bit YCbCr to RGB: 12-bit colour JPEG is converted here.
        from pydicom.pixels import pixel_array
        ybr = pixel_array(ds, as_rgb=False).astype(np.float64)
        mid, top = 1 << (int(ds.BitsStored) - 1), (1 << int(ds.BitsStored)) - 1
        y, cb, cr = ybr[..., 0], ybr[..., 1] - mid, ybr[..., 2] - mid
        rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
        arr = np.clip(np.rint(rgb), 0, top).astype(np.uint16)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return arr if frames > 1 else arr[np.newaxis]


def black_of(ds):
    if ds.PhotometricInterpretation == "MONOCHROME1":
        return (1 << ds.BitsStored) - 1
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        # The index of the darkest entry of the palette.
        lut = [np.frombuffer(ds[f"{c}PaletteColorLookupTableData"].value, "<u2").astype(np.int64)
               for c in ("Red", "Green", "Blue")]
        first = ds.RedPaletteColorLookupTableDescriptor[1]
        return first + int(np.argmin(299 * lut[0] + 587 * lut[1] + 114 * lut[2]))
    return 0


def check(name, kind, src, reference, lossless, cli, rules, work, failures):
    out = os.path.join(work, f"out-{name}-{kind}")
    r = run([cli, "deid", src, "--out", out, "--regions", rules, "--no-detect-text"])
    label = f"{name}/{kind}"
    if name in NOT_DECODED:
        reason = NOT_DECODED[name]
        if r.returncode != 1 or reason not in r.stdout + r.stderr:
            failures.append(f"{label}: expected exclusion ({reason}), got rc={r.returncode} "
                            f"{r.stdout.strip()} {r.stderr.strip()}")
        elif any(files for _, _, files in os.walk(os.path.join(out, "DICOM"))):
            failures.append(f"{label}: excluded but something was written")
        else:
            print(f"  ok  {label}: excluded ({reason})")
        return
    output = output_of(r, out, label, failures)
    if output is None:
        return
    problem = verify(output, reference, lossless, work, keeps_jpeg=name in KEPT_JPEG)
    if problem:
        failures.append(f"{label}: {problem}")
    else:
        print(f"  ok  {label}: region black in {reference.shape[0]} frame(s)")


def output_of(r, out, label, failures):
    """The one output of CLI run `r` into OUT, which must have succeeded; or None (and a
    failure)."""
    if r.returncode != 0:
        failures.append(f"{label}: CLI failed rc={r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
        return None
    return one_output(out, label, failures)


def one_output(out, label, failures):
    """The one DICOM file the CLI wrote under OUT/DICOM, or None (and a failure) otherwise."""
    outputs = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(out, "DICOM")) for f in fs]
    if len(outputs) != 1:
        failures.append(f"{label}: expected one output, got {outputs}")
        return None
    return outputs[0]


def jpeg_blocks(ds):
    """The area Obscura blanks in a JPEG image for REGION: the region widened by one chroma
    sample where colour is subsampled, then to whole MCUs; and the ring around it where
    decoders smooth chroma across the edge. Read from the first frame's frame header."""
    from pydicom.encaps import generate_fragmented_frames
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    stream = b"".join(next(generate_fragmented_frames(ds.PixelData, number_of_frames=frames)))
    at = 2
    while True:
        marker, length = stream[at + 1], int.from_bytes(stream[at + 2:at + 4], "big")
        if marker in (0xC0, 0xC1):
            n = stream[at + 9]
            factors = [(stream[at + 11 + 3 * i] >> 4, stream[at + 11 + 3 * i] & 15) for i in range(n)]
            break
        at += 2 + length
    hmax, vmax = max(h for h, _ in factors), max(v for _, v in factors)
    hmin, vmin = min(h for h, _ in factors), min(v for _, v in factors)
    mx = hmax // hmin if hmin < hmax else 0
    my = vmax // vmin if vmin < vmax else 0
    uw, uh = 8 * hmax, 8 * vmax
    x0, y0 = REGION["x"], REGION["y"]
    x1, y1 = x0 + REGION["w"], y0 + REGION["h"]
    area = np.zeros((ROWS, COLS), dtype=bool)
    area[max(0, y0 - my) // uh * uh:-(-(y1 + my) // uh) * uh,
         max(0, x0 - mx) // uw * uw:-(-(x1 + mx) // uw) * uw] = True
    ring = 2 if (mx or my) else 0
    near = area.copy()
    ys, xs = np.nonzero(area)
    near[max(0, ys.min() - ring):ys.max() + 1 + ring, max(0, xs.min() - ring):xs.max() + 1 + ring] = True
    return area, near


def verify(path, reference, lossless, work, keeps_jpeg=False):
    """What is wrong with one cleaned output, or None. `keeps_jpeg`: the input was JPEG
    Baseline or Extended, which Obscura blanks in whole blocks and keeps as it was."""
    ds = pydicom.dcmread(path)
    got = frames_of(ds)
    if got.shape != reference.shape:
        return f"shape {got.shape} != {reference.shape}"
    mask = inside_mask()
    black = black_of(ds)
    inside = got[:, mask]
    if not np.all(inside == black):
        return (f"{np.count_nonzero(inside != black)} pixel values inside the region are not "
                f"black ({black})")
    ts = str(ds.file_meta.TransferSyntaxUID)
    if keeps_jpeg and ts not in JPEG_SYNTAXES:
        return f"JPEG input stored as {ts}, not blanked inside the JPEG data"
    if ts in JPEG_SYNTAXES:
        # Whole blocks: the widened area is blanked, and everything away from it decodes
        # (in DCMTK, as the reference was decoded) to exactly what it did.
        area, near = jpeg_blocks(ds)
        mask = near
        dcmtk = reference_pixels(path)
        away = np.abs(dcmtk[:, ~near].astype(np.int32) - reference[:, ~near].astype(np.int32))
        if away.size and int(away.max()) != 0:
            return (f"{np.count_nonzero(away)} samples away from the blanked blocks differ from "
                    f"the input's (by up to {int(away.max())})")
        if not np.all(dcmtk[:, area & inside_mask()] == black):
            return "DCMTK does not decode the region as black"
    outside_got = got[:, ~mask].astype(np.int32)
    outside_ref = reference[:, ~mask].astype(np.int32)
    delta = np.abs(outside_got - outside_ref)
    diff = int(np.max(delta)) if delta.size else 0
    tolerance = 0 if lossless else 4
    if diff > tolerance and not lossless and got.ndim == 4:
        # Lossy colour with subsampled chroma: decoders rebuild the chroma differently (DCMTK
        # interpolates it, Obscura repeats it), so at sharp colour edges a few samples differ
        # more; nearly all must still agree, and on average closely.
        scale = max(1, (1 << int(ds.BitsStored)) // 256)
        over = float(np.mean(delta > tolerance * scale))
        if over <= 0.02 and float(np.mean(delta)) <= 2 * scale:
            diff = 0
        else:
            return (f"pixels outside the region changed: {over:.1%} of samples by more than "
                    f"{tolerance * scale}, {float(np.mean(delta)):.1f} on average")
    if diff > tolerance:
        return f"pixels outside the region changed by up to {diff} (allowed {tolerance})"
    if ds.get("BurnedInAnnotation") != "NO":
        return f"BurnedInAnnotation is {ds.get('BurnedInAnnotation')}"
    if not lossless and ds.get("LossyImageCompression") != "01":
        return f"lossy input but LossyImageCompression is {ds.get('LossyImageCompression')}"
    if str(ds.PatientName).startswith("FAKE^BURNEDIN"):
        return "patient name kept"
    png = os.path.join(work, os.path.basename(path) + ".png")
    d = run(["dcmj2pnm", "+on", path, png])
    if d.returncode != 0:
        return f"DCMTK cannot decode the output: {d.stderr.strip()}"
    return None


def variants(work, kinds, names, failures):
    """Write every input: (name, kind, path, reference pixels, lossless)."""
    made = []
    for kind, frames in kinds:
        native = os.path.join(work, f"{kind}.dcm")
        original = write_native(kind, frames, native)
        if "native" in names:
            made.append(("native", kind, native, original, True))
        for name, for_kinds, cmd, lossless in DCMTK:
            if kind not in for_kinds or name not in names:
                continue
            src = os.path.join(work, f"{kind}-{name}.dcm")
            r = run(cmd + [native, src])
            if r.returncode != 0:
                failures.append(f"{name}/{kind}: DCMTK conversion failed: {r.stderr.strip()}")
                continue
            ref = original if lossless or name in NOT_DECODED else reference_pixels(src)
            made.append((name, kind, src, ref, lossless))
        for name, for_kinds, uid, opts, lossless in PYDICOM:
            if kind not in for_kinds or name not in names:
                continue
            src = os.path.join(work, f"{kind}-{name}.dcm")
            ds = pydicom.dcmread(native)
            ds.compress(uid, **opts)
            ds.save_as(src, enforce_file_format=True)
            ref = original if lossless else frames_of(pydicom.dcmread(src))
            made.append((name, kind, src, ref, lossless))
        for name, for_kinds, uid, opts, lossless in HTJ2K:
            if kind not in for_kinds or name not in names:
                continue
            src = os.path.join(work, f"{kind}-{name}.dcm")
            decoded = write_htj2k(native, src, uid, opts, lossless)
            if lossless and not np.array_equal(decoded.reshape(original.shape), original):
                failures.append(f"{name}/{kind}: the HTJ2K encoder is not lossless here")
                continue
            made.append((name, kind, src, original if lossless else decoded.reshape(original.shape), lossless))
    return made


ALL_KINDS = [("mono8", 3), ("mono1", 1), ("mono12", 2), ("rgb8", 2), ("palette8", 1), ("ybr422", 2),
             ("rgb12", 1)]
ALL_NAMES = ["native"] + [d[0] for d in DCMTK] + [p[0] for p in PYDICOM] + [h[0] for h in HTJ2K]
# What the browser test drops on the page: one of each decoder family, and the kinds of
# image with their own kind of black.
PAGE_SETS = [
    ([("mono8", 2), ("rgb8", 1)], ["rle", "jpeg-baseline", "jpeg-lossless-sv1", "jpeg-ls", "j2k-lossless"]),
    ([("mono12", 1), ("rgb12", 1)], ["jpeg-extended"]),
    ([("palette8", 1)], ["rle"]),
    ([("ybr422", 1)], ["native"]),
    ([("rgb8", 1)], ["jpeg-ls-colour-none", "jpeg-ls-colour", "jpeg-ls-colour-sample", "htj2k-lossy"]),
    ([("mono12", 1)], ["htj2k-lossless"]),
]


def make_for_page(dest):
    """Inputs for the browser test, numbered by InstanceNumber (kept by the profile), with
    the rules file and the reference pixels."""
    os.makedirs(dest, exist_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="obscura-page-pixels-") as work:
        made = [v for kinds, names in PAGE_SETS for v in variants(work, kinds, names, failures)]
        if failures:
            sys.exit("\n".join(failures))
        write_page_inputs(dest, made)


def write_page_inputs(dest, made):
    """The page test's inputs from the variants made (read before their folder goes)."""
    for i, (name, kind, src, ref, lossless) in enumerate(made, start=1):
        ds = pydicom.dcmread(src)
        ds.InstanceNumber = str(i)
        ds.save_as(os.path.join(dest, f"{i:02d}-{kind}-{name}.dcm"))
        np.save(os.path.join(dest, f"ref-{i}.npy"), ref)
        with open(os.path.join(dest, f"ref-{i}.json"), "w") as f:
            json.dump({"label": f"{name}/{kind}", "lossless": lossless}, f)
    with open(os.path.join(dest, "rules.json"), "w") as f:
        json.dump(RULES, f)
    print(len(made))


def verify_package(refs, unzipped):
    """Check every image of a package made from make_for_page's files."""
    failures, seen = [], 0
    for d, _, files in os.walk(os.path.join(unzipped, "DICOM")):
        for f in files:
            path = os.path.join(d, f)
            i = int(pydicom.dcmread(path, stop_before_pixels=True).InstanceNumber)
            with open(os.path.join(refs, f"ref-{i}.json")) as fh:
                info = json.load(fh)
            ref = np.load(os.path.join(refs, f"ref-{i}.npy"))
            name = info["label"].split("/")[0]
            problem = verify(path, ref, info["lossless"], tempfile.gettempdir(),
                             keeps_jpeg=name in KEPT_JPEG)
            seen += 1
            if problem:
                failures.append(f"{info['label']}: {problem}")
    expected = len([f for f in os.listdir(refs) if f.endswith(".npy")])
    if seen != expected:
        failures.append(f"{seen} images in the package, {expected} expected")
    if failures:
        sys.exit("\n".join(failures))
    print(f"{seen} images checked")


# A 5×7 pen for the text the detection test burns in (fake names, dates, IDs).
FONT = {
    "A": [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11], "B": [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
    "D": [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e], "E": [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
    "F": [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10], "I": [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
    "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
    "R": [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11], "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
    "O": [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
    "0": [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e], "1": [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
    "9": [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c], "^": [0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00],
    "-": [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00], ":": [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
}


def burn(mask, text, x, y, scale):
    for k, ch in enumerate(text):
        for r, bits in enumerate(FONT.get(ch, [0] * 7)):
            for b in range(5):
                if bits & (0x10 >> b):
                    yy, xx = y + r * scale, x + (k * 6 + b) * scale
                    mask[yy:yy + scale, xx:xx + scale] = True


def ultrasound(frames, rows=240, cols=320, rgb=True):
    """Frames with a speckled fan in the middle and fake PHI burned into the top and bottom."""
    rng = np.random.default_rng(7)
    text = np.zeros((rows, cols), dtype=bool)
    burn(text, "FAKE^BURNEDIN", 4, 3, 1)
    burn(text, "ID: FAKE-01 19010101", 4, 14, 1)
    burn(text, "DR FAKE", cols - 100, rows - 20, 2)
    yy, xx = np.mgrid[0:rows, 0:cols]
    fan = ((xx - cols / 2) ** 2 + (yy - 30) ** 2 < (rows * 0.75) ** 2) & \
          (np.abs(xx - cols / 2) < (yy - 30) * 0.9) & (yy > 40)
    stack = []
    for f in range(frames):
        img = np.full((rows, cols), 8, dtype=np.int32)
        speckle = rng.integers(40, 200, size=(rows, cols))
        img[fan] = speckle[fan]
        img[text] = 245
        stack.append(img)
    arr = np.stack(stack).astype(np.uint8)
    if rgb:
        arr = np.stack([arr, arr, arr], axis=-1)
        arr[..., 2][:, text] = 60  # yellow text
    return arr, text, fan


def ultrasound_text_over_anatomy(frames, rows=480, cols=640):
    """RGB frames with fake PHI burned over the speckled fan itself (not on a dark band), in
    white and in yellow; the text's pixels and the fan."""
    arr, _, fan = ultrasound(frames, rows, cols, rgb=True)
    arr[...] = np.where(fan[None, ..., None], arr, 8)
    white = np.zeros((rows, cols), dtype=bool)
    yellow = np.zeros((rows, cols), dtype=bool)
    burn(white, "FAKE KAFE 1901", cols // 2 - 100, rows // 2, 2)
    burn(yellow, "KAFE 0019", cols // 2 - 60, rows // 2 + 60, 2)
    arr[:, white] = (245, 245, 245)
    arr[:, yellow] = (240, 220, 20)
    return arr, white | yellow, fan


def check_detection(cli, work, failures):
    """--detect-text on ultrasound with burned-in text, no rules: the text is gone."""
    for rgb, name, convert in [(True, "native", None), (False, "native", None),
                               (True, "rle", ["dcmcrle"]), (False, "jpeg-baseline", ["dcmcjpeg", "+eb"]),
                               (True, "j2k-lossless", JPEG2000Lossless)]:
        label = f"detect/{'rgb' if rgb else 'mono'}/{name}"
        arr, text, fan = ultrasound(2, rgb=rgb)
        native = os.path.join(work, f"us-{label.replace('/', '-')}.dcm")
        write_array(arr, native, rgb)
        src = native
        if isinstance(convert, list):
            src = native + f".{name}.dcm"
            r = run(convert + [native, src])
            if r.returncode != 0:
                failures.append(f"{label}: conversion failed {r.stderr.strip()}")
                continue
        elif convert is not None:
            ds = pydicom.dcmread(native)
            ds.compress(convert)
            src = native + f".{name}.dcm"
            ds.save_as(src, enforce_file_format=True)
        out = os.path.join(work, f"out-{label.replace('/', '-')}")
        r = run([cli, "deid", src, "--out", out, "--detect-text", "--log", out + ".json"])
        if r.returncode != 0:
            failures.append(f"{label}: CLI failed: {r.stdout.strip()} {r.stderr.strip()}")
            continue
        outputs = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(out, "DICOM")) for f in fs]
        ds = pydicom.dcmread(outputs[0])
        got = ds.pixel_array
        got = got if got.ndim == (4 if rgb else 3) else got[np.newaxis]
        lum = got.max(axis=-1) if rgb else got
        left = int(np.count_nonzero(lum[:, text] > 30))
        fan_kept = float(np.mean(lum[:, fan] > 30))
        if left:
            failures.append(f"{label}: {left} text pixel values survive")
        elif fan_kept < 0.9:
            failures.append(f"{label}: only {fan_kept:.0%} of the image kept")
        elif ds.get("BurnedInAnnotation") != "NO":
            failures.append(f"{label}: BurnedInAnnotation {ds.get('BurnedInAnnotation')}")
        elif "automatic text detection" not in open(out + ".json").read():
            failures.append(f"{label}: the log does not say text was detected")
        elif check_key_images(out, text):
            failures.append(f"{label}: {check_key_images(out, text)}")
        else:
            print(f"  ok  {label}: all burned-in text blanked, {fan_kept:.0%} of the image kept")


# The text detector's working memory in one thread (a tile of 1280×544), which the guide
# (docs/GUIDE.md) adds to the bound for each thread that looks for text: about 230 MiB in use
# (300 MiB before 2026-12-08, when an enlarged 640×480 frame was one tile of 1280×960), and what
# the allocator keeps of it between frames, which depends on how the threads' work interleaves
# (measured peaks of this check with whole frames, two threads: 626-777 MiB on an idle machine,
# 789-868 MiB while other work shared it).
DETECTOR_MIB = 400


def check_memory(cli, work, failures):
    """Four large ultrasound cines through `deid` (text detection on, as by default) with the
    default memory budget and two threads: the CLI's peak memory (RSS, with key images and
    cines made) stays below 3 × the largest file + 64 MiB + 400 MiB a thread for the text
    detector, the bound docs/GUIDE.md states."""
    folder = os.path.join(work, "memory-in")
    os.makedirs(folder)
    arr, _, _ = ultrasound(40, rows=480, cols=640, rgb=True)
    for i in range(4):
        write_array(arr, os.path.join(folder, f"us{i}.dcm"), True)
    largest = max(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    out = os.path.join(work, "memory-out")
    # A child of its own, so that its peak is the only one measured.
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = run([sys.executable, "-c", probe, cli, "deid", folder, "--out", out, "--detect-text",
             "--jobs", "2"])
    code, kib = (int(v) for v in r.stdout.split())
    peak, bound = kib / 1024, 3 * largest / 2**20 + 64 + 2 * DETECTOR_MIB
    if code != 0:
        failures.append(f"memory: the CLI failed with {code}")
    elif peak >= bound:
        failures.append(f"memory: peak {peak:.0f} MiB, above 3 × {largest / 2**20:.0f} + 64 + 2 × {DETECTOR_MIB} = {bound:.0f} MiB")
    else:
        print(f"  ok  memory: 4 cines of {largest / 2**20:.0f} MiB, peak {peak:.0f} MiB (bound {bound:.0f} MiB)")


def read_png(path):
    """A key image written by Obscura (8-bit grey or RGB, no filtering) as an array."""
    import struct
    import zlib
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    at, idat, header = 8, b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"CRC of {kind}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour = header[:4]
    channels = {0: 1, 2: 3}[colour]
    assert depth == 8
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    assert (raw[:, 0] == 0).all(), "no filter"
    pixels = raw[:, 1:].reshape(height, width, channels)
    return pixels.max(axis=-1)


def check_key_images(out, text):
    """Every key image of a package made from ultrasound() files: no text in it."""
    images = [os.path.join(out, "images", f) for f in sorted(os.listdir(os.path.join(out, "images")))
              if f.endswith(".png")]
    if not images:
        return "no key image"
    for path in images:
        lum = read_png(path)
        # Key images are enlarged for slides by a whole factor (to at least 1024 px on their
        # longer side): each image pixel is a k×k block; the block's brightest pixel stands for it.
        k = max(1, -(-1024 // max(text.shape)))
        if lum.shape != (text.shape[0] * k, text.shape[1] * k):
            return f"{path}: key image is {lum.shape}, not {text.shape} enlarged {k} times"
        lum = lum.reshape(text.shape[0], k, text.shape[1], k).max(axis=(1, 3))
        if (lum[text] > 60).any():
            return f"{path}: burned-in text shows in the key image"
        if lum.max() < 100:
            return f"{path}: the key image is empty"
    return None


def check_overlays(cli, work, failures):
    """Overlays spelling a fake name, in Overlay Data and in an unused high pixel bit: gone."""
    rows, cols, frames = 64, 160, 2
    name = np.zeros((rows, cols), dtype=bool)
    burn(name, "FAKE^DOE", 4, 4, 2)
    ident = np.zeros((rows, cols), dtype=bool)
    burn(ident, "FAKE-01", 4, 34, 2)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 4096, size=(frames, rows, cols), dtype=np.uint16)
    stored = image | (ident.astype(np.uint16) << 13)  # overlay 6002 lives in bit 13
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Word SC
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "FAKE^DOE"
    ds.PatientID = "FAKE-01"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = str(frames)
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = "33"
    ds.PixelData = stored.tobytes()
    # 6000: a separate bitmap (Overlay Data), with a label naming the patient.
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60001500, "LO", "FAKE^DOE")
    ds.add_new(0x60003000, "OW", np.packbits(name.ravel(), bitorder="little").tobytes())
    # 6002: the retired form, in bit 13 of the pixel data itself.
    ds.add_new(0x60020010, "US", rows)
    ds.add_new(0x60020011, "US", cols)
    ds.add_new(0x60020040, "CS", "G")
    ds.add_new(0x60020050, "SS", [1, 1])
    ds.add_new(0x60020100, "US", 16)
    ds.add_new(0x60020102, "US", 13)
    before = len(failures)
    src = os.path.join(work, "overlays", "in")
    os.makedirs(src, exist_ok=True)
    path = os.path.join(src, "overlays.dcm")
    save_native(ds, path)
    check = pydicom.dcmread(path)
    if not (check.overlay_array(0x6000).astype(bool) == name).all():
        failures.append("overlays: the test's own Overlay Data does not read back as the name")
        return
    out = os.path.join(work, "overlays", "out")
    r = subprocess.run([cli, "deid", src, "--out", out, "--no-key-images", "--no-detect-text"], capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"overlays: the CLI failed: {r.stdout}{r.stderr}")
        return
    output = one_output(out, "overlays", failures)
    if output is None:
        return
    ds = pydicom.dcmread(output)
    left = [str(e.tag) for e in ds if 0x6000 <= e.tag.group <= 0x601E]
    if left:
        failures.append(f"overlays: overlay attributes left: {left}")
    # The stored words as written (pydicom's pixel_array masks the bits above Bits Stored).
    words = np.frombuffer(ds.PixelData, dtype="<u2").reshape(frames, rows, cols)
    if (words & 0xF000).any():
        failures.append("overlays: bits above High Bit are still set (the overlay in bit 13 is there)")
    if not (words & 0x0FFF == image).all():
        failures.append("overlays: the image itself changed")
    raw = open(output, "rb").read()
    if b"FAKE^DOE" in raw or b"FAKE-01" in raw:
        failures.append("overlays: the fake name is in the output bytes")
    dump = subprocess.run(["dcmdump", "+P", "6000,3000", "+P", "6002,0102", output],
                          capture_output=True, text=True)
    if dump.stdout.strip():
        failures.append(f"overlays: DCMTK still finds overlay attributes: {dump.stdout.strip()}")
    if len(failures) == before:
        print("overlays: removed, no high-bit residue")


def write_array(arr, path, rgb):
    ds = Dataset()
    frames = arr.shape[0]
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"  # Ultrasound Multi-frame Image
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "FAKE^BURNEDIN"
    ds.PatientID = "FAKE-01"
    ds.PatientBirthDate = "19010101"
    ds.Modality = "US"
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = str(frames)
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = "33"
    ds.PixelData = arr.tobytes()
    save_native(ds, path)


# Files from pydicom-data: (name, rows of the band a rule blanks).
VENDOR_FILES = [("gdcm-US-ALOKA-16.dcm", 60), ("gdcm-US-ALOKA-16_big.dcm", 60)]
# DCMTK conversions of the first (what a PACS may send it as): RLE, JPEG-LS lossless,
# deflate, JPEG lossless (SV1).
VENDOR_CONVERSIONS = [("rle", ["dcmcrle"]), ("jpeg-ls", ["dcmcjpls"]), ("deflate", ["dcmconv", "+td"]),
                      ("jpeg-lossless", ["dcmcjpeg", "+e1"])]


def check_vendor_files(cli, work, failures):
    """Vendors' images with a segmented palette, blanked by a rule (see the docstring)."""
    import data_store
    from pydicom.pixels import apply_color_lut
    base = os.path.join(os.path.dirname(data_store.__file__), "data")
    inputs = [(name, os.path.join(base, name), band) for name, band in VENDOR_FILES]
    first, band = inputs[0][1], inputs[0][2]
    for label, cmd in VENDOR_CONVERSIONS:
        dest = os.path.join(work, f"vendor-{label}.dcm")
        r = run(cmd + [first, dest])
        if r.returncode != 0:
            failures.append(f"{label}: DCMTK could not convert {first}: {r.stderr.strip()}")
            continue
        inputs.append((f"{VENDOR_FILES[0][0]} as {label}", dest, band))
    for k, (name, src, band) in enumerate(inputs):
        original = pydicom.dcmread(src)
        rules = os.path.join(work, f"rules-vendor-{k}.json")
        with open(rules, "w") as f:
            json.dump({"rules": [{"name": "top band", "regions": [
                {"x": 0, "y": 0, "w": int(original.Columns), "h": band}]}]}, f)
        out = os.path.join(work, f"out-vendor-{k}")
        r = run([cli, "deid", src, "--out", out, "--regions", rules, "--no-detect-text"])
        output = output_of(r, out, name, failures)
        if output is None:
            continue
        cleaned = pydicom.dcmread(output)
        before, after = original.pixel_array, cleaned.pixel_array
        shown = apply_color_lut(after, cleaned)
        if shown[:band].max() != 0:
            failures.append(f"{name}: the band does not show black through the palette")
        elif not np.array_equal(before[band:], after[band:]):
            failures.append(f"{name}: pixels outside the band changed")
        elif not os.listdir(os.path.join(out, "images")):
            failures.append(f"{name}: no key image")
        else:
            print(f"  ok  {name}: segmented palette, band black, the rest unchanged")


# Images of 32 and 1 bits a sample that others wrote: (where: "pydicom" or "pydicom-data",
# name, the box a rule blanks: x, y, w, h).
OTHER_DEPTHS = [("pydicom-data", "SC_rgb_32bit.dcm", (0, 0, 6, 4)),
                ("pydicom-data", "SC_rgb_expb_32bit_2frame.dcm", (0, 0, 6, 4)),
                ("pydicom", "SC_rgb_rle_32bit_2frame.dcm", (0, 0, 6, 4)),
                ("pydicom", "rtdose.dcm", (0, 0, 6, 4)), ("pydicom", "rtdose_expb.dcm", (0, 0, 6, 4)),
                ("pydicom", "rtdose_rle.dcm", (0, 0, 6, 4)),
                ("pydicom-data", "liver.dcm", (200, 150, 150, 200)),
                ("pydicom-data", "liver_expb.dcm", (200, 150, 150, 200)),
                ("pydicom", "liver_1frame.dcm", (200, 150, 150, 200))]


def check_other_depths(cli, work, failures):
    """32-bit RGB and RT dose images (little and big endian, RLE) and 1-bit segmentations
    (little and big endian), a box blanked by a rule: black
    there in every frame (where the input was not), the rest unchanged, a key image drawn."""
    import data_store
    bases = {"pydicom": os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"),
             "pydicom-data": os.path.join(os.path.dirname(data_store.__file__), "data")}
    for k, (where, name, (x, y, w, h)) in enumerate(OTHER_DEPTHS):
        src = os.path.join(bases[where], name)
        rules = os.path.join(work, f"rules-depth-{k}.json")
        with open(rules, "w") as f:
            json.dump({"rules": [{"name": "box", "regions": [{"x": x, "y": y, "w": w, "h": h}]}]}, f)
        out = os.path.join(work, f"out-depth-{k}")
        output = output_of(run([cli, "deid", src, "--out", out, "--regions", rules, "--no-detect-text"]), out, name, failures)
        if output is None:
            continue
        original, cleaned = pydicom.dcmread(src), pydicom.dcmread(output)
        before, after = frames_of(original), frames_of(cleaned)
        inside = np.zeros(after.shape[1:3], bool)
        inside[y:y + h, x:x + w] = True
        bits = int(cleaned.BitsAllocated)
        if bits != int(original.BitsAllocated) or before.shape != after.shape:
            failures.append(f"{name}: not the same frames: {before.shape} {after.shape}, {bits} bits")
        elif not any(f[inside].any() for f in before):
            failures.append(f"{name}: the box holds nothing to blank (a test that shows nothing)")
        elif any(f[inside].any() for f in after):
            failures.append(f"{name}: the box is not black in every frame")
        elif not all(np.array_equal(b[~inside], a[~inside]) for b, a in zip(before, after)):
            failures.append(f"{name}: pixels outside the box changed")
        elif not os.listdir(os.path.join(out, "images")):
            failures.append(f"{name}: no key image")
        else:
            print(f"  ok  {name}: {bits}-bit, box black in {len(after)} frame(s), the rest unchanged")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli")
    ap.add_argument("--make-for-page", metavar="DIR",
                    help="write the browser test's inputs, rules and reference pixels")
    ap.add_argument("--verify-package", nargs=2, metavar=("REFS", "UNZIPPED"),
                    help="check a package made in the browser from --make-for-page's files")
    args = ap.parse_args()
    if args.make_for_page:
        return make_for_page(args.make_for_page)
    if args.verify_package:
        return verify_package(*args.verify_package)
    if not args.cli:
        ap.error("--cli is required")
    cli = os.path.abspath(args.cli)
    failures = []
    with tempfile.TemporaryDirectory(prefix="obscura-pixels-") as work:
        rules = os.path.join(work, "rules.json")
        with open(rules, "w") as f:
            json.dump(RULES, f)
        for name, kind, src, ref, lossless in variants(work, ALL_KINDS, ALL_NAMES, failures):
            check(name, kind, src, ref, lossless, cli, rules, work, failures)
        check_detection(cli, work, failures)
        check_overlays(cli, work, failures)
        check_memory(cli, work, failures)
        check_vendor_files(cli, work, failures)
        check_other_depths(cli, work, failures)
    if failures:
        print("FAILURES:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("pixel cleaning: every transfer syntax checked")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Detection quality of burned-in text: recall and collateral on a generated set (`make bench-detect`).

Usage: tools/bench_detect.py [--images 240] [--out docs/benchmarks.md] [--keep DIR]

Generates a set of DICOM images of the kinds that carry burned-in text (ultrasound with colour
Doppler, calibration marks and colour bars; screen captures; angiography; endoscopy and
external photographs; CT secondary captures; ultrasound cines), each with lines of obviously
fake PHI drawn in several font families, at glyph heights of 7 to 24 pixels and in several
colours, in these situations: on a black band, over anatomy, small (7-11 px), coloured, dark
text on a light label, two-letter initials, and in the middle frames of a cine only. The exact
pixels of every line are known (its ink, where the text's coverage is at least a half).

Then it runs, on the same files: Obscura's CLI with the learned detector (alone, and with the
band detector: the default) and with the band detector alone (the detector before the learned one), and
Tesseract (Debian's tesseract-ocr; every word it reads blacked out, as Presidio's DICOM
redactor does). For each:
- recall: the share of text lines of which every ink pixel was blanked;
- collateral: the share of pixels farther than 12 px from any ink that were changed;
- files left out for want of detection;
and, natively, the detector's time per 640x480 frame on one core and the CLI's peak memory.

A second, smaller set measures reading and "Keep non-identifying annotations"
(`--keep-annotations`): ultrasound frames with lines of fake PHI and labels a scanner burns in
(side markers, planes, scales, probes, settings). It counts the PHI lines removed with and
without the option (keeping annotations must keep no PHI), the labels left intact with it, and
what reading costs.

Writes the tables between the bench-detect (and bench-annotations) markers of the given
Markdown file. Measurements, not test assertions.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "obscura")
FONT_DIRS = ["/usr/share/fonts/truetype"]
SITUATIONS = ["band", "anatomy", "small", "coloured", "dark on light", "initials", "cine middle frames"]
TEXTS = [
    "KESTREL^WANDA", "Wanda Kestrel", "MRN 5512934", "DOB 03/02/1961", "ACC 88231-77",
    "St Fakeham Hospital", "Dr Zed Quill", "12-MAR-2024 14:22:07", "ID OBSC-9921", "Bo Ng",
    "Amy Lee", "FAKEPATIENT J", "Acc# 4410982", "Born 1961-02-03", "Quill, Zed MD",
]
INITIALS = ["WK", "JD", "ZQ", "BN", "AL", "MK"]
COLOURS = [(255, 255, 0), (0, 255, 0), (0, 255, 255), (255, 128, 0), (255, 0, 255), (255, 64, 64), (128, 160, 255)]
SITUATION_SLUG = {s: s.replace(" ", "-") for s in SITUATIONS}


def fonts():
    """TrueType fonts of several families (DejaVu, Liberation, FreeFont where installed)."""
    found = []
    for d in FONT_DIRS:
        for dirpath, _, names in os.walk(d):
            for n in sorted(names):
                if n.endswith(".ttf") and not re.search(r"Oblique|Italic|Light|Math", n):
                    found.append(os.path.join(dirpath, n))
    families = {}
    for f in found:
        families.setdefault(os.path.basename(os.path.dirname(f)) + "/" + os.path.basename(f).split("-")[0], []).append(f)
    return [fs[0] for fs in families.values()] or found


def smooth_noise(rng, h, w, scale):
    """Low-frequency texture (anatomy-like) in 0..1."""
    small = rng.random((max(2, h // scale), max(2, w // scale)))
    img = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


def background(rng, kind, h, w):
    """An RGB frame of the kind, and where anatomy lies (a boolean mask)."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = smooth_noise(rng, h, w, 24) * 0.6 + smooth_noise(rng, h, w, 6) * 0.25 + rng.random((h, w)) * 0.15
    rgb = np.zeros((h, w, 3), np.float32)
    if kind in ("US", "US-doppler", "US-cine"):
        cx, top = w / 2, h * 0.12
        ang = np.arctan2(xx - cx, yy - top + 1e-6)
        r = np.hypot(xx - cx, yy - top)
        mask = (np.abs(ang) < 0.6) & (r < h * 0.82) & (r > h * 0.05)
        speckle = base * (0.5 + 0.5 * rng.random((h, w)))
        for c in range(3):
            rgb[..., c] = np.where(mask, 20 + speckle * 190, 0)
        if kind == "US-doppler":
            # Colour flow: saturated red and blue blobs inside the sector.
            flow = smooth_noise(rng, h, w, 10)
            box = (yy > h * 0.35) & (yy < h * 0.6) & (xx > w * 0.4) & (xx < w * 0.62) & mask
            red = box & (flow > 0.55)
            blue = box & (flow < 0.4)
            rgb[red] = [220, 40, 30]
            rgb[blue] = [30, 60, 230]
            # The colour bar and its scale.
            rgb[int(h * 0.3):int(h * 0.7), w - 30:w - 22] = np.stack(
                [np.linspace(255, 0, int(h * 0.7) - int(h * 0.3))] * 8, 1)[..., None] * np.array([1, 0.3, 0.2])[None, None]
        # Calibration marks down the side of the sector.
        for y in range(int(h * 0.15), int(h * 0.9), 20):
            rgb[y:y + 2, int(w * 0.18):int(w * 0.18) + (6 if (y // 20) % 5 == 0 else 3)] = 200
        return rgb, mask
    if kind == "XA":
        r = np.hypot(xx - w / 2, yy - h / 2)
        mask = r < min(h, w) * 0.48
        v = np.where(mask, 40 + base * 170, 0)
        # Vessels: dark curved lines.
        for k in range(6):
            a, b, ph = rng.random() * 0.05, rng.random() * w, rng.random() * 6
            line = np.abs(xx - (b + 60 * np.sin(yy * a + ph))) < 2.5
            v = np.where(line & mask, 30, v)
        rgb[...] = v[..., None]
        return rgb, mask
    if kind == "ES":
        r = np.hypot(xx - w / 2, yy - h / 2)
        mask = r < min(h, w) * 0.47
        tissue = np.stack([150 + base * 100, 50 + base * 80, 40 + base * 60], -1)
        rgb[...] = np.where(mask[..., None], tissue, 0)
        return rgb, mask
    if kind == "XC":
        mask = np.ones((h, w), bool)
        rgb[...] = np.stack([180 + base * 60, 130 + base * 60, 110 + base * 50], -1)
        return rgb, mask
    if kind == "SC":
        # A workstation's screen: grey panels, a light toolbar, an image viewport.
        rgb[...] = 45
        rgb[: int(h * 0.08)] = 200
        vp = (slice(int(h * 0.12), int(h * 0.95)), slice(int(w * 0.22), int(w * 0.97)))
        rgb[vp] = (base[vp] * 200)[..., None]
        mask = np.zeros((h, w), bool)
        mask[vp] = True
        return rgb, mask
    # CT secondary capture: a grey body on black.
    r = np.hypot((xx - w / 2) / (w * 0.42), (yy - h / 2) / (h * 0.36))
    mask = r < 1
    rgb[...] = np.where(mask, 60 + base * 150, 0)[..., None]
    return rgb, mask


def text_layer(h, w, text, font_path, glyph_px, x, y):
    """The coverage (0..1) of one line of text, and its size; the font size is chosen so
    capital letters are `glyph_px` high."""
    font = ImageFont.truetype(font_path, max(6, round(glyph_px / 0.72)))
    layer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(layer).text((x, y), text, font=font, fill=255)
    return np.asarray(layer, np.float32) / 255.0, font.getbbox(text)


def place(rng, h, w, mask, where, tw, th):
    """A top-left corner for a (tw x th) line: in a band at the top or bottom, over anatomy,
    or anywhere."""
    for _ in range(200):
        x = int(rng.integers(2, max(3, w - tw - 2)))
        if where == "band":
            y = int(rng.integers(2, max(3, int(h * 0.1) - th))) if rng.random() < 0.5 else int(rng.integers(int(h * 0.9), max(int(h * 0.9) + 1, h - th - 2)))
        else:
            y = int(rng.integers(2, max(3, h - th - 2)))
        if where == "anatomy":
            sub = mask[y:y + th, x:x + tw]
            if sub.size == 0 or sub.mean() < 0.9:
                continue
        return x, y
    return 2, 2


class Line:
    def __init__(self, situation, frames, ink):
        self.situation = situation
        self.frames = frames  # frame indices the line is in
        self.ink = ink        # boolean mask


def make_image(rng, idx, kind, situations, font_list, out_dir):
    """One DICOM file with one line per situation; returns its lines."""
    sizes = {"US": (480, 640), "US-doppler": (600, 800), "US-cine": (480, 640), "XA": (512, 512),
             "ES": (576, 720), "XC": (768, 1024), "SC": (768, 1024), "CT": (512, 512)}
    h, w = sizes[kind]
    frames_n = 8 if kind == "US-cine" else 1
    rgb, mask = background(rng, kind, h, w)
    frames = [rgb.copy() for _ in range(frames_n)]
    if frames_n > 1:
        # The sector moves a little in every frame, as in a real cine.
        for k in range(1, frames_n):
            shift = np.roll(frames[0], k * 2, axis=1)
            frames[k] = np.where(mask[..., None], shift, frames[0])
    lines = []
    used = np.zeros((h, w), bool)
    for situation in situations:
        font = font_list[int(rng.integers(len(font_list)))]
        if situation == "small":
            glyph = int(rng.integers(7, 12))
        else:
            glyph = int(rng.integers(9, 25))
        text = INITIALS[int(rng.integers(len(INITIALS)))] if situation == "initials" else TEXTS[int(rng.integers(len(TEXTS)))]
        probe, bbox = text_layer(h, w, text, font, glyph, 0, 0)
        tw, th = bbox[2] + 2, bbox[3] + 2
        where = {"band": "band", "anatomy": "anatomy", "dark on light": "any"}.get(situation, "any" if rng.random() < 0.5 else "anatomy")
        for _ in range(20):
            x, y = place(rng, h, w, mask, where, tw, th)
            if not used[max(0, y - 14):y + th + 14, max(0, x - 14):x + tw + 14].any():
                break
        cover, _ = text_layer(h, w, text, font, glyph, x, y)
        ink = cover >= 0.5
        used |= cover > 0
        if situation == "band":
            colour = (235, 235, 235) if rng.random() < 0.6 else COLOURS[int(rng.integers(len(COLOURS)))]
        elif situation == "coloured":
            colour = COLOURS[int(rng.integers(len(COLOURS)))]
        elif situation == "dark on light":
            colour = (int(rng.integers(20, 60)),) * 3
        else:
            colour = (240, 240, 240) if rng.random() < 0.7 else COLOURS[int(rng.integers(len(COLOURS)))]
        if kind in ("XA", "CT") and situation != "dark on light":
            # A grey image's text is grey too: light, as scanners burn it.
            v = int(rng.integers(170, 256))
            colour = (v, v, v)
        in_frames = list(range(frames_n))
        if situation == "cine middle frames":
            in_frames = list(range(frames_n // 2 - 1, frames_n // 2 + 2))
        for k in in_frames:
            f = frames[k]
            if situation == "band":
                f[max(0, y - 3):y + th + 3, max(0, x - 4):x + tw + 4] = 0
            if situation == "dark on light":
                f[max(0, y - 4):y + th + 4, max(0, x - 5):x + tw + 5] = int(rng.integers(190, 250))
            a = cover[..., None]
            f[...] = f * (1 - a) + np.array(colour, np.float32)[None, None] * a
        lines.append(Line(situation, in_frames, ink))
    grey = kind in ("XA", "CT")
    arr = np.stack([np.clip(f, 0, 255).astype(np.uint8) for f in frames])
    if grey:
        # Luminance, so that coloured text stays visible in a grey image.
        arr = np.clip(arr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) + 0.5, 0, 255).astype(np.uint8)
    write_dicom(os.path.join(out_dir, f"img{idx:04d}.dcm"), idx, kind, arr, grey, burned=(idx % 2 == 0))
    return arr, lines


def write_dicom(path, idx, kind, arr, grey, burned):
    modality = {"US": "US", "US-doppler": "US", "US-cine": "US", "XA": "XA", "ES": "ES", "XC": "XC", "SC": "SC", "CT": "OT"}[kind]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7" if modality in ("SC", "OT") else (
        "1.2.840.10008.5.1.4.1.1.3.1" if kind == "US-cine" else "1.2.840.10008.5.1.4.1.1.6.1" if modality == "US" else
        "1.2.840.10008.5.1.4.1.1.12.1" if modality == "XA" else "1.2.840.10008.5.1.4.1.1.77.1.1" if modality == "ES" else
        "1.2.840.10008.5.1.4.1.1.77.1.4")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "KESTREL^WANDA"
    ds.PatientID = "MRN-5512934"
    ds.PatientBirthDate = "19610203"
    ds.Modality = modality
    ds.InstanceNumber = idx + 1
    ds.BurnedInAnnotation = "YES" if burned else "NO"
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if grey:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
    else:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    if arr.shape[0] > 1:
        ds.NumberOfFrames = arr.shape[0]
        ds.FrameTime = 40
    ds.PixelData = arr.tobytes()
    ds.save_as(path, enforce_file_format=True)


def generate(n, out_dir, seed=20261204):
    """The set: kinds in turn, each image with three or four situations; every situation
    appears in every kind it fits. Returns {instance number: (pixels, lines)}."""
    rng = np.random.default_rng(seed)
    font_list = fonts()
    kinds = ["US", "US-doppler", "SC", "XA", "ES", "XC", "CT", "US-cine"]
    truth = {}
    for idx in range(n):
        kind = kinds[idx % len(kinds)]
        base = [s for s in SITUATIONS if s != "cine middle frames"]
        rng.shuffle(base)
        chosen = list(base[:3 + idx % 2])
        if kind == "US-cine":
            chosen = chosen[:2] + ["cine middle frames"]
        truth[idx + 1] = make_image(rng, idx, kind, chosen, font_list, out_dir)
    return truth, font_list


def dilate(mask, r):
    """Pixels within r (Chebyshev distance) of a set pixel."""
    m = mask.astype(np.int32)
    for axis in (0, 1):
        c = np.cumsum(np.pad(m, [(r + 1, r) if a == axis else (0, 0) for a in (0, 1)]), axis=axis)
        hi = np.take(c, range(2 * r + 1, c.shape[axis]), axis=axis)
        lo = np.take(c, range(0, c.shape[axis] - 2 * r - 1), axis=axis)
        m = (hi - lo > 0).astype(np.int32)
    return m.astype(bool)


def score(truth, outputs):
    """Recall per situation and collateral, from {instance: output pixels or None}."""
    found = {s: [0, 0] for s in SITUATIONS}
    far_changed = far_total = 0
    excluded = 0
    for inst, (before, lines) in truth.items():
        after = outputs.get(inst)
        if after is None:
            excluded += 1
            for ln in lines:
                found[ln.situation][1] += 1
            continue
        changed = before != after
        if changed.ndim == 4:
            changed = changed.any(-1)
        if changed.ndim == 3 and before.ndim == 3 and before.shape[0] != changed.shape[0]:
            changed = changed[None]
        if changed.ndim == 2:
            changed = changed[None]
        all_ink = np.zeros(changed.shape[1:], bool)
        for ln in lines:
            all_ink |= ln.ink
            ok = all(changed[k][ln.ink].all() for k in ln.frames)
            found[ln.situation][0] += int(ok)
            found[ln.situation][1] += 1
        far = ~dilate(all_ink, 12)
        for k in range(changed.shape[0]):
            far_changed += int(changed[k][far].sum())
            far_total += int(far.sum())
    return found, far_changed / max(1, far_total), excluded


def read_outputs(out_dir):
    outputs = {}
    for dirpath, _, names in os.walk(out_dir):
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                ds = pydicom.dcmread(p)
            except Exception:
                continue
            if "PixelData" not in ds:
                continue
            arr = ds.pixel_array
            if int(getattr(ds, "NumberOfFrames", 1) or 1) == 1:
                arr = arr[None]
            outputs[int(ds.InstanceNumber)] = arr
    return outputs


def run_cli(inp, out, extra, jobs="2"):
    cmd = ["/usr/bin/time", "-f", "%e %M", CLI, "deid", inp, "--out", out, "--no-key-images", "--jobs", jobs] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"obscura failed ({p.returncode}): {p.stderr[-2000:]}")
    secs, kb = p.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kb) / 1024


def tesseract_outputs(truth, work):
    """Every word Tesseract reads in a frame, blacked out."""
    outputs = {}
    for inst, (before, _) in truth.items():
        after = before.copy()
        for k in range(before.shape[0]):
            frame = before[k]
            png = os.path.join(work, "t.png")
            Image.fromarray(frame).save(png)
            tsv = subprocess.run(["tesseract", png, "stdout", "tsv"], capture_output=True, text=True).stdout
            for row in tsv.splitlines()[1:]:
                c = row.split("\t")
                if len(c) == 12 and c[11].strip() and float(c[10]) >= 0:
                    x, y, w, h = map(int, c[6:10])
                    after[k, y:y + h, x:x + w] = 0
        outputs[inst] = after
    return outputs


def table(rows):
    head = "| detector | " + " | ".join(SITUATIONS) + " | all lines | collateral | files left out |"
    sep = "|" + "---|" * (len(SITUATIONS) + 5)
    out = [head, sep]
    for name, (found, coll, excl) in rows:
        tot = [sum(v[0] for v in found.values()), sum(v[1] for v in found.values())]
        cells = [f"{found[s][0]}/{found[s][1]}" for s in SITUATIONS]
        out.append(f"| {name} | " + " | ".join(cells) + f" | **{tot[0]}/{tot[1]} ({100 * tot[0] / max(1, tot[1]):.1f}%)** | {100 * coll:.2f}% | {excl} |")
    return "\n".join(out)


def speed(work):
    """The detector's time per 640x480 frame on one core: 16 ultrasound frames through the
    CLI on one thread, with detection and without."""
    inp = os.path.join(work, "speed")
    os.makedirs(inp)
    rng = np.random.default_rng(7)
    font_list = fonts()
    for i in range(16):
        make_image(rng, i, "US", ["band", "anatomy"], font_list, inp)
    res = {}
    for name, extra in [("none", ["--no-detect-text"]), ("learned", ["--text-detector", "learned"]), ("learned+bands", [])]:
        best = None
        for t in range(3):
            out = os.path.join(work, f"speed-{name}-{t}")
            secs, mib = run_cli(inp, out, extra, jobs="1")
            best = secs if best is None else min(best, secs)
            res[name + "-mib"] = max(res.get(name + "-mib", 0), mib)
        res[name] = best
    # The same frames in WebAssembly (V8, as in Chromium), from the page's core.
    out = subprocess.run(["node", os.path.join(ROOT, "tools", "bench-detect-wasm.mjs"), inp],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        key, value = line.split()
        res["wasm-" + key] = float(value)
    return res


ANNOTATIONS = ["LT", "RT", "TRANS", "SAG", "LONG LT", "SAG RT", "5 cm", "C5-1", "L12-3", "MI 1.2",
               "TIS 0.4", "4.0MHz", "Gn 50", "RMLO", "AP"]


def make_annotated(rng, idx, font_list, out_dir):
    """A 640x480 ultrasound frame with two lines of fake PHI and two labels; returns its
    pixels and its lines as (is_label, ink)."""
    h, w = 480, 640
    rgb, mask = background(rng, "US", h, w)
    f = rgb.copy()
    used = np.zeros((h, w), bool)
    lines = []
    phi = [TEXTS[int(rng.integers(len(TEXTS)))], INITIALS[int(rng.integers(len(INITIALS)))]]
    labels = [ANNOTATIONS[int(rng.integers(len(ANNOTATIONS)))] for _ in range(2)]
    for is_label, text in [(False, t) for t in phi] + [(True, t) for t in labels]:
        font = font_list[int(rng.integers(len(font_list)))]
        glyph = int(rng.integers(10, 25))
        _, bbox = text_layer(h, w, text, font, glyph, 0, 0)
        tw, th = bbox[2] + 2, bbox[3] + 2
        for _ in range(20):
            x, y = place(rng, h, w, mask, "any", tw, th)
            if not used[max(0, y - 20):y + th + 20, max(0, x - 20):x + tw + 20].any():
                break
        cover, _ = text_layer(h, w, text, font, glyph, x, y)
        used |= cover > 0
        colour = (240, 240, 240) if rng.random() < 0.7 else COLOURS[int(rng.integers(len(COLOURS)))]
        a = cover[..., None]
        f[...] = f * (1 - a) + np.array(colour, np.float32)[None, None] * a
        lines.append((is_label, cover >= 0.5))
    arr = np.clip(f, 0, 255).astype(np.uint8)[None]
    write_dicom(os.path.join(out_dir, f"ann{idx:04d}.dcm"), idx, "US", arr, False, burned=False)
    return arr, lines


def annotations(work, n=64):
    """PHI removed and labels kept, with and without --keep-annotations, and the time."""
    inp = os.path.join(work, "annotations")
    shutil.rmtree(inp, ignore_errors=True)
    os.makedirs(inp)
    rng = np.random.default_rng(20261207)
    font_list = fonts()
    truth = {i + 1: make_annotated(rng, i, font_list, inp) for i in range(n)}
    res = {}
    for name, extra in [("default", []), ("keep", ["--keep-annotations"])]:
        out = os.path.join(work, f"annotations-{name}")
        shutil.rmtree(out, ignore_errors=True)
        secs, mib = run_cli(inp, out, extra, jobs="1")
        outputs = read_outputs(out)
        phi = labels = phi_n = labels_n = 0
        for inst, (before, lines) in truth.items():
            after = outputs.get(inst)
            for is_label, ink in lines:
                changed = None if after is None else (before[0] != after[0]).any(-1)[ink]
                if is_label:
                    labels_n += 1
                    labels += int(changed is not None and not changed.any())
                else:
                    phi_n += 1
                    phi += int(changed is not None and changed.all())
        res[name] = (phi, phi_n, labels, labels_n, secs, mib)
    return n, res


def annotations_block(n, res):
    d, k = res["default"], res["keep"]
    return "\n".join([
        "<!-- bench-annotations: written by tools/bench_detect.py (make bench-detect) -->",
        "### Reading the boxes, and keeping non-identifying annotations",
        "",
        f"{n} generated 640x480 ultrasound frames, each with two lines of fake PHI (a name, ID or date, and "
        f"two-letter initials) and two labels a scanner burns in (side markers, planes, a scale, a probe, a "
        f"setting: {', '.join(ANNOTATIONS)}), in several fonts, 10-24 px, white or coloured, over the image or beside it. "
        f"The CLI on one thread (`--jobs 1`). Measured {time.strftime('%Y-%m-%d')} on this machine.",
        "",
        "| run | PHI lines removed | labels left intact | time | peak memory |",
        "|---|---|---|---|---|",
        f"| default (every box found blanked; nothing read) | {d[0]}/{d[1]} | {d[2]}/{d[3]} | {d[4]:.1f} s | {d[5]:.0f} MiB |",
        f"| `--keep-annotations` (every box read) | {k[0]}/{k[1]} | {k[2]}/{k[3]} | {k[4]:.1f} s | {k[5]:.0f} MiB |",
        "",
        f"Reading costs {1000 * (k[4] - d[4]) / n:.0f} ms a frame here (both runs load the detector; the second "
        "also loads the recogniser and reads every box). A label counts as intact when none of its ink pixels changed; "
        "a PHI line as removed when all of them did.",
        "<!-- /bench-annotations -->",
    ]) + "\n"


def write_block(path, marker, block):
    doc = open(path).read() if os.path.exists(path) else ""
    if f"<!-- {marker}" in doc:
        doc = re.sub(rf"<!-- {marker}:.*?<!-- /{marker} -->\n", lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    open(path, "w").write(doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations-only", action="store_true",
                    help="only the annotations set (reading, --keep-annotations)")
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--keep")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="obscura-detect-")
    os.makedirs(work, exist_ok=True)
    n, res = annotations(work)
    block = annotations_block(n, res)
    print(block, flush=True)
    if a.annotations_only:
        write_block(a.out, "bench-annotations", block)
        return
    inp = os.path.join(work, "in")
    shutil.rmtree(inp, ignore_errors=True)
    os.makedirs(inp)
    truth, font_list = generate(a.images, inp)
    lines = sum(len(v[1]) for v in truth.values())
    print(f"generated {len(truth)} images, {lines} lines of text, {len(font_list)} fonts in {inp}", flush=True)
    rows = []
    for name, extra in [("Obscura, learned detector alone", ["--text-detector", "learned"]),
                        ("Obscura, learned + band detector (default)", []),
                        ("Obscura, band detector alone (before)", ["--text-detector", "bands"])]:
        out = os.path.join(work, "out-" + re.sub(r"\W+", "-", name))
        shutil.rmtree(out, ignore_errors=True)
        secs, mib = run_cli(inp, out, extra)
        res = score(truth, read_outputs(out))
        rows.append((name, res))
        print(name, f"{secs:.1f} s, {mib:.0f} MiB", table([(name, res)]).splitlines()[-1], flush=True)
    if shutil.which("tesseract"):
        res = score(truth, tesseract_outputs(truth, work))
        rows.append(("Tesseract, every word read blacked out", res))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    sp = speed(work)
    per_frame = (sp["learned"] - sp["none"]) / 16
    per_frame_both = (sp["learned+bands"] - sp["none"]) / 16
    text = [
        "<!-- bench-detect: written by tools/bench_detect.py (make bench-detect) -->",
        "## Burned-in text detection (`make bench-detect`)",
        "",
        f"A generated set of {len(truth)} images ({lines} lines of fake PHI; ultrasound with colour Doppler, "
        f"calibration marks and a colour bar, ultrasound cines, screen captures, angiography, endoscopy, "
        f"external photographs, CT secondary captures; {len(font_list)} fonts, glyphs 7-24 px high, several colours). "
        "A line is removed when every pixel of its ink was blanked (in every frame it is in); "
        "collateral is the share of pixels farther than 12 px from any text that were changed. "
        f"Measured {time.strftime('%Y-%m-%d')} on this machine (2 cores).",
        "",
        table(rows),
        "",
        f"Speed natively, one core, 640x480 RGB ultrasound frames (16 files, best of 3, the CLI with detection "
        f"minus without): learned detector {1000 * per_frame:.0f} ms a frame ({1 / max(per_frame, 1e-9):.1f} frames/s); "
        f"with the band detector too {1000 * per_frame_both:.0f} ms ({1 / max(per_frame_both, 1e-9):.1f} frames/s). "
        f"Peak memory of the CLI on one thread: {sp['learned-mib']:.0f} MiB with detection, {sp['none-mib']:.0f} MiB without. "
        f"In WebAssembly (the page's core in Node's V8, SIMD on, the default detectors): "
        f"{sp.get('wasm-with', 0) - sp.get('wasm-without', 0):.0f} ms a frame "
        f"({(sp.get('wasm-with', 0) - sp.get('wasm-without', 0)) / max(1000 * per_frame_both, 1e-9):.1f}x native), "
        f"its memory {sp.get('wasm-memory', 0):.0f} MiB.",
        "<!-- /bench-detect -->",
    ]
    block = "\n".join(text) + "\n"
    print(block)
    write_block(a.out, "bench-detect", block)
    write_block(a.out, "bench-annotations", annotations_block(n, res))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The package's slide deck (case.pptx) opens in LibreOffice Impress and every slide holds its
picture.

Usage: check_deck.py --cli target/release/obscura

Makes a package with the CLI from the sample study (two patients, three series of fake data)
and a fake 3-frame MR (so that a cine, an animated GIF, goes into the deck too), converts the
deck to PDF with LibreOffice Impress (Debian's libreoffice-impress), and checks:
- the PDF has a title slide and one slide per key image and cine of the package;
- each picture slide, drawn (poppler's pdftoppm), shows a picture: the middle of the slide is
  neither empty nor flat;
- the title slide holds the case's title (it is not blank).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid


def fake_cine(path):
    """A 3-frame 64x64 MR of a fake patient, each frame a brighter disc."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "FAKECINE^ZED", "FAKECINE01"
    ds.Modality, ds.BodyPartExamined, ds.SeriesDescription = "MR", "HEART", "CINE 4CH"
    ds.SeriesNumber, ds.InstanceNumber = 7, 1
    yy, xx = np.mgrid[:64, :64]
    disc = ((yy - 32) ** 2 + (xx - 32) ** 2 < 400)
    frames = np.stack([(disc * (80 + 60 * k) + (xx * 2)).astype(np.uint8) for k in range(3)])
    ds.NumberOfFrames, ds.FrameTime = 3, 50
    ds.Rows, ds.Columns = 64, 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = frames.tobytes()
    ds.save_as(path, enforce_file_format=True)


def pgm(path):
    """A binary PGM (P5, 8-bit) as an array."""
    data = open(path, "rb").read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    assert fields[0] == b"P5", fields
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(data[at + 1:at + 1 + width * height], np.uint8).reshape(height, width)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            sys.exit(f"check_deck: {tool} is not installed (scripts/setup.sh installs it)")
    work = tempfile.mkdtemp(prefix="obscura-deck-")
    try:
        inp, out = os.path.join(work, "in"), os.path.join(work, "out")
        subprocess.run([cli, "sample", inp], check=True, capture_output=True)
        fake_cine(os.path.join(inp, "FAKECINE.dcm"))
        p = subprocess.run([cli, "deid", inp, "--out", out], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        pictures = sorted(f for f in os.listdir(os.path.join(out, "images")))
        cines = [f for f in pictures if f.endswith(".gif")]
        assert cines, f"the fake cine got no animated GIF: {pictures}"
        with zipfile.ZipFile(os.path.join(out, "case.pptx")) as deck:
            media = [n for n in deck.namelist() if n.startswith("ppt/media/")]
            assert len(media) == len(pictures), (media, pictures)
            slides = [n for n in deck.namelist() if n.startswith("ppt/slides/slide")]
            assert len(slides) == 1 + len(pictures), slides
            xml = "".join(deck.read(n).decode() for n in slides)
            for phi in ("FAKEDOE", "JANEFAKE", "FAKESMITH", "FAKECINE"):
                assert phi not in xml, f"{phi} in the deck"

        # LibreOffice needs a home of its own (its profile), and a converted PDF.
        env = dict(os.environ, HOME=os.path.join(work, "home"))
        p = subprocess.run(["soffice", "--headless", "--norestore", "--convert-to", "pdf",
                            "--outdir", work, os.path.join(out, "case.pptx")],
                           capture_output=True, text=True, env=env, timeout=300)
        pdf = os.path.join(work, "case.pdf")
        assert p.returncode == 0 and os.path.exists(pdf), f"LibreOffice: {p.stdout} {p.stderr}"
        subprocess.run(["pdftoppm", "-r", "30", "-gray", pdf, os.path.join(work, "slide")], check=True)
        pages = sorted((f for f in os.listdir(work) if f.startswith("slide") and f.endswith(".pgm")),
                       key=lambda f: int(f.rsplit("-", 1)[1].split(".")[0]))
        assert len(pages) == 1 + len(pictures), f"{len(pages)} slides in the PDF, expected {1 + len(pictures)}"
        title = pgm(os.path.join(work, pages[0]))
        assert (title > 128).any(), "the title slide is blank"
        for n, page in enumerate(pages[1:], start=2):
            img = pgm(os.path.join(work, page)).astype(float)
            h, w = img.shape
            middle = img[h // 4:h // 2, w // 2 - h // 8:w // 2 + h // 8]
            assert middle.max() > 20 and middle.std() > 2, f"slide {n} shows no picture"
        print(f"  ok  case.pptx: {len(pages)} slides in LibreOffice Impress, "
              f"{len(pictures) - len(cines)} key images and {len(cines)} cine(s), each slide with its picture")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

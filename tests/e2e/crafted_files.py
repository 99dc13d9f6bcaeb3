"""Crafted files for the page's end-to-end test, one or more for each class of hole the
adversarial audit found (issue 27): files built to crash the core (a deflated data set nested
2,000 deep, a JPEG whose frame header claims 65000×65000), to exhaust it (a deflate bomb, a ZIP
bomb), and to leak (known attributes written as UN, URLs with the patient's name, text in
JPEG comment and EXIF segments, an instance UID under the standard's root, codes holding the
patient's name, a private creator naming the patient). All PHI is fake.

Usage: crafted_files.py DIR   writes the files into DIR and prints, as JSON, what the page
must do with each: {"file": {"expect": "excluded" | "done", "canaries": [...],
"own_files_only": bool}}. `canaries` must appear nowhere in the package (or, with
`own_files_only`, nowhere in its own files: manifest, DICOMDIR, change logs, report, case page;
the DICOM file keeps the code, flagged for the user to check).
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

from PIL import Image
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit,
                         generate_uid)
from pydicom.dataelem import RawDataElement
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.filewriter import write_file_meta_info


def base(name, modality="OT"):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = name
    ds.PatientID = "FAKE-AUDIT-" + name.split("^")[0]
    ds.Modality = modality
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(256))
    return ds


def meta(ds, ts):
    m = FileMetaDataset()
    m.MediaStorageSOPClassUID = ds.SOPClassUID
    m.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    m.TransferSyntaxUID = ts
    m.ImplementationClassUID = "1.2.826.0.1.3680043.10.1417.1"
    ds.file_meta = m
    return ds


def save(ds, path, ts=ExplicitVRLittleEndian):
    meta(ds, ts).save_as(path, enforce_file_format=True)


def element(group, elem, vr, value, length=None):
    """One explicit VR little endian element, as bytes (`length` overrides the real one)."""
    n = len(value) if length is None else length
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UR", b"UC"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, n) + value
    return struct.pack("<HH2sH", group, elem, vr, n) + value


def raw_file(path, ts, data_set, deflate=False):
    """A file whose data set is given as bytes, after a file meta group written by pydicom."""
    m = FileMetaDataset()
    m.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    m.MediaStorageSOPInstanceUID = generate_uid()
    m.TransferSyntaxUID = ts
    m.ImplementationClassUID = "1.2.826.0.1.3680043.10.1417.1"
    buf = io.BytesIO()
    buf.write(bytes(128) + b"DICM")
    write_file_meta_info(buf, m, enforce_standard=True)
    if deflate:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        data_set = c.compress(data_set) + c.flush()
    with open(path, "wb") as f:
        f.write(buf.getvalue() + data_set)


def jpeg(comment=None, exif=None):
    """A 16×16 grey JPEG (Pillow), with a COM segment and an EXIF APP1 segment when asked."""
    img = Image.frombytes("L", (16, 16), bytes(range(256)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    data = out.getvalue()
    extra = b""
    if exif:
        body = b"Exif\0\0" + exif
        extra += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    if comment:
        extra += b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + extra + data[2:]


def jpeg_file(path, frame, modality="OT"):
    ds = base("FAKE^JPEG", modality)
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].is_undefined_length = True
    save(ds, path, JPEGBaseline8Bit)


def main(out):
    os.makedirs(out, exist_ok=True)
    expect = {}
    name = lambda f: os.path.join(out, f)  # noqa: E731

    # Crashes. A deflated data set nested 2,000 sequences deep.
    nested = b""
    for _ in range(2000):
        nested += element(0x0040, 0xA730, b"SQ", b"", 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    for _ in range(2000):
        nested += struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    raw_file(name("crash-deflated-deep.dcm"), DeflatedExplicitVRLittleEndian,
             element(0x0010, 0x0010, b"PN", b"AUDITDEEP^ANNA ") + nested, deflate=True)
    expect["crash-deflated-deep.dcm"] = {"expect": "excluded", "canaries": ["AUDITDEEP"]}
    # A JPEG whose frame header says 65000×65000 while Rows and Columns say 16×16, in an
    # ultrasound image (looked at for text, so decoded).
    frame = bytearray(jpeg())
    sof = frame.index(b"\xff\xc0")
    frame[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    jpeg_file(name("crash-jpeg-sof.dcm"), bytes(frame), "US")
    # Left out: text could not be looked for in it (an ultrasound image carries text).
    expect["crash-jpeg-sof.dcm"] = {"expect": "excluded", "canaries": []}

    # Resources. A deflated data set declaring an element of 1.5 GiB in 679 bytes or so, and
    # one inflating 200 times.
    raw_file(name("bomb-deflated-length.dcm"), DeflatedExplicitVRLittleEndian,
             element(0x0010, 0x0010, b"PN", b"AUDITBOMB^BO") + element(0x7FE0, 0x0010, b"OB", b"", 0x60000000),
             deflate=True)
    expect["bomb-deflated-length.dcm"] = {"expect": "excluded", "canaries": ["AUDITBOMB"]}
    raw_file(name("bomb-deflated-zeros.dcm"), DeflatedExplicitVRLittleEndian,
             element(0x0010, 0x0010, b"PN", b"AUDITBOMB^BO") + element(0x0009, 0x1010, b"OB", bytes(64 << 20)),
             deflate=True)
    expect["bomb-deflated-zeros.dcm"] = {"expect": "excluded", "canaries": ["AUDITBOMB"]}
    # A ZIP whose one entry inflates to more than any entry may (4 GiB natively, 1 GiB in the
    # page): written in pieces, so that this script never holds it.
    with zipfile.ZipFile(name("bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("bomb.dcm", "w", force_zip64=True) as f:
            zeros = bytes(16 << 20)
            for _ in range((1 << 30) // len(zeros) + 1):
                f.write(zeros)
    expect["bomb.zip/bomb.dcm"] = {"expect": "excluded", "canaries": []}

    # Leaks. Known attributes written as UN: a sequence (Anatomic Region Sequence) with a
    # name inside, Document Title, and the patient's own name (which must still be learned,
    # so that a description repeating it is cleaned).
    item = element(0x0008, 0x0104, b"LO", b"AUDITUNSEQ KESTREL")
    # pydicom would otherwise write them with their dictionary VR.
    pydicom.config.replace_un_with_known_vr = False
    ds = base("AUDITUNNAME^WANDA")
    del ds.PatientName
    for tag, value in [(0x00100010, b"AUDITUNNAME^WANDA "),
                       (0x00082218, struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item),
                       (0x00420010, b"AUDITUNTITLE report ")]:
        # Raw, so that pydicom writes the bytes as UN and does not read them as what they are.
        ds[tag] = RawDataElement(Tag(tag), "UN", len(value), value, 0, False, True)
    ds.ImageComments = "Seen with AUDITUNNAME Wanda"
    save(ds, name("leak-un.dcm"))
    expect["leak-un.dcm"] = {"expect": "done", "canaries": ["AUDITUNSEQ", "AUDITUNTITLE", "AUDITUNNAME"]}

    # URLs naming the patient.
    ds = base("AUDITURL^AMY")
    ds.add_new(0x00081190, "UR", "https://pacs.example/wado?patientID=AUDITURLID&patientName=AUDITURLNAME")
    ds.add_new(0x00287FE0, "UR", "https://pacs.example/pixels?patientName=AUDITURLNAME")
    save(ds, name("leak-url.dcm"))
    expect["leak-url.dcm"] = {"expect": "done", "canaries": ["AUDITURLID", "AUDITURLNAME"]}

    # Text in the codestream of a CT's JPEG (not decoded: no rule, no detection for CT).
    jpeg_file(name("leak-jpeg-com.dcm"), jpeg(b"AUDITJPEGCOM Patient Kestrel", b"MM\0*AUDITEXIFOWNER"), "CT")
    expect["leak-jpeg-com.dcm"] = {"expect": "done", "canaries": ["AUDITJPEGCOM", "AUDITEXIFOWNER"]}

    # An instance UID under the standard's root (a device appending to its SOP Class UID).
    ds = base("AUDITUID^BO")
    ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7.424242.31337"
    save(ds, name("leak-uid-root.dcm"))
    expect["leak-uid-root.dcm"] = {"expect": "done", "canaries": ["424242.31337"]}

    # Codes holding the patient's name: flagged in the file, never in the package's own files.
    ds = base("AUDITCODE^NG")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "NG AUDITCODE"]
    ds.BodyPartExamined = "AUDITCODE HEAD"
    save(ds, name("leak-code.dcm"))
    expect["leak-code.dcm"] = {"expect": "done", "canaries": ["AUDITCODE"], "own_files_only": True}

    # A private creator naming the patient (the logs name a private block by its numbers).
    ds = base("AUDITPRIV^LEE")
    ds.add_new(0x00290010, "LO", "AUDITPRIV^LEE PRIVATE")
    ds.add_new(0x00291010, "LO", "AUDITPRIV 1961")
    save(ds, name("leak-private-creator.dcm"))
    expect["leak-private-creator.dcm"] = {"expect": "done", "canaries": ["AUDITPRIV"]}

    # Binary attributes outside the profile's table: a record key and an HPGL drawing holding
    # the patient's name.
    ds = base("AUDITBLOB^AMY")
    ds.add_new(0x0008041B, "OB", b"AUDITBLOBKEY 5512345 ")
    ds.add_new(0x00686300, "OB", b"LB AUDITBLOBHPGL Amy\x03")
    save(ds, name("leak-binary.dcm"))
    expect["leak-binary.dcm"] = {"expect": "done", "canaries": ["AUDITBLOBKEY", "AUDITBLOBHPGL"]}

    # A sequence outside the profile's table that identifies an order, holding a value that
    # is kept elsewhere (a namespace's ID).
    ds = base("AUDITSEQ^KIM")
    order = Dataset()
    order.LocalNamespaceEntityID = "AUDITSEQORDER"
    ds.OrderPlacerIdentifierSequence = Sequence([order])
    save(ds, name("leak-sequence.dcm"))
    expect["leak-sequence.dcm"] = {"expect": "done", "canaries": ["AUDITSEQORDER"]}

    # A voice memo (Basic Voice Audio, mu-law samples): a voice cannot be cleaned.
    ds = base("AUDITVOICE^BO")
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.9.4.1"
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
                    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PixelData"):
        if keyword in ds:
            delattr(ds, keyword)
    wave = pydicom.Dataset()
    wave.NumberOfWaveformChannels = 1
    wave.NumberOfWaveformSamples = 8
    wave.SamplingFrequency = "8000"
    wave.WaveformBitsAllocated = 8
    wave.WaveformSampleInterpretation = "MB"
    wave.WaveformData = b"AUDITVOICESAMPLES" + bytes(1)
    ds.WaveformSequence = [wave]
    save(ds, name("leak-voice.dcm"))
    expect["leak-voice.dcm"] = {"expect": "excluded", "canaries": ["AUDITVOICE"]}

    # A video (H.264): its frames cannot be looked at, and its stream can carry metadata.
    ds = base("AUDITVIDEO^NG", "ES")
    ds.NumberOfFrames = 2
    ds.PixelData = pydicom.encaps.encapsulate([b"\0\0\0\x18ftypmp42 udta AUDITVIDEOMETA "])
    ds["PixelData"].VR = "OB"
    save(ds, name("leak-video.dcm"), "1.2.840.10008.1.2.4.102")
    expect["leak-video.dcm"] = {"expect": "excluded", "canaries": ["AUDITVIDEO"]}

    json.dump(expect, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])

"""Obscura: de-identify DICOM files with the same core as its page and its command.

    import obscura

    # One file at a time (bytes or a path), as `obscura deid` would clean it:
    session = obscura.Session(key_file="project.key", preset="teaching")
    result = session.deidentify("study/IM0001.dcm")
    result.data         # the de-identified file (pydicom.dcmread(io.BytesIO(result.data)))
    result.changes      # what was done to each attribute (no original value)

    # A batch, exactly as the command does it (two passes, the package, the logs):
    obscura.deid(["study/"], "out/", key_file="project.key", zip="case.zip")

    # Or from the shell, with the command's own arguments:
    #   python -m obscura deid study/ --out out/ --key-file project.key

A file that cannot be cleaned raises an `ObscuraError` whose class says why (`NotDicom`,
`BurnedIn`, `Damaged`…, each with its `code` and `reason`). The core releases the GIL while it
works, so threads sharing a session run at once. Nothing is sent anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from . import _core

__version__ = _core.__version__

# The text detection and recognition models travel inside the package (checked by the core
# against their SHA-256 when loaded); `OBSCURA_TEXT_MODEL` or `text_model=` choose another copy.
_MODELS = Path(__file__).resolve().parent / "models"
if (_MODELS / "text-detect.onnx").is_file():
    os.environ.setdefault("OBSCURA_TEXT_MODEL", str(_MODELS / "text-detect.onnx"))

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[bytes, bytearray, memoryview, PathLike]


class ObscuraError(Exception):
    """A file Obscura did not de-identify, and why: `code` (a short stable name) and `reason`
    (in words). A file that cannot be cleaned is never passed through."""

    code = "reported"

    def __init__(self, reason: str, code: Optional[str] = None):
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class Skipped(ObscuraError):
    """Not a file to de-identify (a DICOMDIR index: its files are read instead)."""

    code = "skipped"


class NotDicom(ObscuraError):
    """Not a DICOM file."""

    code = "not-dicom"


class Archive(ObscuraError):
    """A ZIP archive: give its entries (`obscura.deid` opens archives itself)."""

    code = "archive"


class Gzip(ObscuraError):
    """A gzip-compressed file: decompress it first."""

    code = "gzip"


class Unreadable(ObscuraError):
    """DICOM that could not be parsed."""

    code = "unreadable"


class Damaged(ObscuraError):
    """DICOM whose structure is damaged (lengths, sequences) beyond repair."""

    code = "damaged"


class Pixels(ObscuraError):
    """Pixels that had to be cleaned could not be decoded or blanked."""

    code = "pixels"


class BurnedIn(ObscuraError):
    """The file says text is burned into its pixels and nothing cleaned it
    (`accept_burned_in=True` takes it, for you to check)."""

    code = "burned-in"


class Document(ObscuraError):
    """An encapsulated document (PDF, CDA, 3D model): `include_documents=True` takes it with
    the document replaced."""

    code = "document"


class Recording(ObscuraError):
    """A waveform or audio recording, which can hold a voice or identifying signals."""

    code = "recording"


class Video(ObscuraError):
    """A video whose frames cannot be looked at for burned-in text."""

    code = "video"


class Unlookable(ObscuraError):
    """An image of a kind that carries text whose frames could not be read to look for it."""

    code = "unlookable"


class WriteFailed(ObscuraError):
    """The cleaned file could not be written."""

    code = "write"


class BadPseudonyms(ObscuraError):
    """The pseudonym list cannot be used for this file."""

    code = "pseudonyms"


class BadOverride(ObscuraError):
    """An `actions=` override cannot be applied."""

    code = "override"


class BadKey(ObscuraError):
    """The project key cannot be used."""

    code = "key"


_ERRORS = {c.code: c for c in (Skipped, NotDicom, Archive, Gzip, Unreadable, Damaged, Pixels, BurnedIn,
                               Document, Recording, Video, Unlookable, WriteFailed, BadPseudonyms,
                               BadOverride, BadKey)}


@dataclass(frozen=True)
class Result:
    """A de-identified file."""

    data: bytes
    """The de-identified DICOM file."""
    changes: list = field(repr=False)
    """What was done, one dict per attribute: `path`, `name`, `action`, `reason` (never the
    original value)."""
    warnings: list
    """What to look at yourself (burned-in text that may remain, a face)."""
    detections: list = field(repr=False)
    """The boxes of burned-in text found and blanked: `x`, `y`, `w`, `h`, `frame`…"""
    meta: dict = field(repr=False)
    """All the core says of the file, including `before` and `after` summaries: `before` holds
    original values, for your eyes only."""


def _flags(key_file: Optional[PathLike] = None, options: Iterable[str] = (), preset: Optional[str] = None,
           pseudonyms: Optional[PathLike] = None, actions: Iterable[str] = (), date_offset: Optional[int] = None,
           regions: Optional[PathLike] = None, detect_text: bool = True, text_model: Optional[PathLike] = None,
           keep_annotations: bool = False, accept_burned_in: bool = False,
           include_documents: bool = False) -> list:
    """The `obscura deid` flags of a policy given as keyword arguments."""
    if isinstance(options, str) or isinstance(actions, str):
        raise TypeError("options and actions are lists of names, not one string")
    flags = []
    if preset is not None:
        flags += ["--preset", str(preset)]
    for o in options:
        flags += ["--option", str(o)]
    for a in actions:
        flags += ["--action", str(a)]
    for flag, value in (("--key-file", key_file), ("--pseudonyms", pseudonyms), ("--regions", regions),
                        ("--text-model", text_model)):
        if value is not None:
            flags += [flag, os.fspath(value)]
    if date_offset is not None:
        flags += ["--date-offset", str(int(date_offset))]
    if not detect_text:
        flags.append("--no-detect-text")
    for flag, on in (("--keep-annotations", keep_annotations), ("--accept-burned-in", accept_burned_in),
                     ("--include-documents", include_documents)):
        if on:
            flags.append(flag)
    return flags


def _bytes(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(os.fspath(source), "rb") as f:
        return f.read()


class Session:
    """Files de-identified one at a time under one policy, as `obscura deid` would with the
    same options: the same key gives the same UIDs, pseudonyms and dates in every file.

    Keyword arguments (each is the flag of `obscura deid` of the same name):
    `key_file`, `options` (profile option names, see `python -m obscura options`), `preset`,
    `pseudonyms` (a CSV file), `actions` (`"GGGG,EEEE=X"` overrides), `date_offset` (days),
    `regions` (a rules file), `detect_text` (default True), `text_model`, `keep_annotations`,
    `accept_burned_in`, `include_documents`. Without `key_file` a random key is used.

    For a batch, call `scan` on every file first (or give it `first_pass=`): free text in each
    file is then cleaned of every patient's identifiers, whichever file names them first.
    """

    def __init__(self, first_pass: Sequence[Source] = (), **policy):
        try:
            self._core = _core.Session(_flags(**policy))
        except ValueError as e:
            raise ValueError(f"obscura: {e}") from None
        for source in first_pass:
            self.scan(source)

    def scan(self, source: Source) -> bool:
        """First pass over one file (bytes or a path): record its patient's identifying values.
        Whether it could be read (one that cannot is excluded, with its reason, by
        `deidentify`)."""
        return self._core.scan(_bytes(source))

    def deidentify(self, source: Source) -> Result:
        """De-identify one file (bytes or a path). Raises an `ObscuraError` subclass when the
        file is left out, saying why."""
        status, code, reason, data, meta = self._core.deidentify(_bytes(source))
        if status != "done":
            raise _ERRORS.get(code, ObscuraError)(reason, code)
        meta = json.loads(meta)
        return Result(data=data, changes=meta.get("changes", []), warnings=meta.get("warnings", []),
                      detections=meta.get("detections", []), meta=meta)


def deidentify(source: Source, **policy) -> Result:
    """De-identify one file (bytes or a path) with a session of its own (see `Session`)."""
    return Session(**policy).deidentify(source)


def deid(inputs: Sequence[PathLike], out: PathLike, *, zip: Optional[PathLike] = None,
         log: Optional[PathLike] = None, jobs: Optional[int] = None, memory: Optional[int] = None,
         only: Optional[str] = None, notes: Optional[PathLike] = None, key_images: bool = True,
         follow_links: bool = False, scheduler: Optional[str] = None, shard_files: Optional[int] = None,
         **policy) -> int:
    """De-identify files and folders into `out` exactly as `obscura deid` does (it runs the
    command's own code): the folder, and with `zip=` the package. Returns the exit status: 0
    when every file was de-identified, 1 when any was left out (the log says why). A usage
    error (a wrong option, an `out` that is not empty) raises ValueError; the command said
    why on standard error. With `scheduler=` ("local:N" or a Dask scheduler's address) the run
    is spread over a Dask cluster in shards of `shard_files` files, with the same result
    (`obscura.distributed`; `key_file` is then required)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    argv = ["deid", *(os.fspath(i) for i in inputs), "--out", os.fspath(out), *_flags(**policy)]
    for flag, value in (("--zip", zip), ("--log", log), ("--notes", notes)):
        if value is not None:
            argv += [flag, os.fspath(value)]
    for flag, value in (("--jobs", jobs), ("--memory", memory), ("--only", only)):
        if value is not None:
            argv += [flag, str(value)]
    if not key_images:
        argv.append("--no-key-images")
    if follow_links:
        argv.append("--follow-links")
    if scheduler is not None:
        from . import distributed
        argv += ["--scheduler", scheduler]
        if shard_files is not None:
            argv += ["--shard-files", str(shard_files)]
        status = distributed.run(argv[1:])
    else:
        status = _core.cli(argv)
    if status == 3:
        raise RuntimeError("obscura deid: the run stopped half-way (see the message above); the same "
                           "call takes it up")
    if status == 2:
        raise ValueError("obscura deid: the arguments were refused (see the message above)")
    return status


__all__ = ["Session", "Result", "deidentify", "deid", "ObscuraError", *(c.__name__ for c in _ERRORS.values())]

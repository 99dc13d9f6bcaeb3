"""Benchmark peer: pydicom/deid (PyPI `deid`) with its default recipe, as its docs show.

Usage: deid_peer.py IN_DIR OUT_DIR
"""
import os
import sys

from deid.dicom import get_files, replace_identifiers


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    files = sorted(get_files(src))
    # The default recipe (deid.dicom): the Basic Profile's list of header fields, private
    # tags removed.
    replace_identifiers(files, save=True, output_folder=out, remove_private=True)
    written = len(os.listdir(out))
    if written != len(files):
        sys.exit(f"deid wrote {written} of {len(files)} files")


if __name__ == "__main__":
    main()

// The batch's first pass, as the CLI's (src/bin/obscura/main.rs): before the files of one
// addition (a drop, a choice of files or a folder, the sample study) are de-identified, the
// header of each, and of each file in an archive, is read for its patient's identifying
// values. Free text is then cleaned of a name that only a later file gives, and a file comes
// out the same whatever order the files are cleaned in.
//
// Only headers are read: a few KB of most files (more when the header goes on), never the
// pixel data of a large image, and the files in an archive are inflated only as far as their
// headers. Archives inside archives are opened as deep as the CLI opens them
// (`nestedArchiveDepth`); files deeper still are cleaned of the rest of the batch's identifiers
// and of their own.

/** What is read of a file first: enough for most headers (a CT slice's is a few KB). */
export const SCAN_FIRST = 16 << 10;
/** What is read at most before the file is read whole: enough for nearly every header. */
export const SCAN_HEAD = 256 << 10;
/** A file whose header goes on past SCAN_HEAD is read whole up to this size; a larger one is
 * not scanned (it is cleaned of its own identifiers and those of the rest of the batch). */
export const SCAN_WHOLE_MAX = 64 << 20;

/** The files an archive's directory lists (see `zipFiles` in src/wasm.rs), read from `blob`
 * a piece at a time: its tail, then its directory. Throws when it is not a readable archive. */
export async function listArchive(core, blob) {
  const tailStart = Math.max(0, blob.size - core.zipTailLength());
  const tail = new Uint8Array(await blob.slice(tailStart).arrayBuffer());
  const [offset, length, count] = core.zipLocate(tail, tailStart);
  const directory = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
  return core.zipFiles(directory, count);
}

/** The header of a file of `size` bytes, with `read(n)` giving its first `n` bytes: its bytes
 * up to its pixel data, or all of them when it has none; `null` when the header goes on past
 * SCAN_WHOLE_MAX. */
async function fileHeader(core, size, read) {
  let head = new Uint8Array(0);
  for (const upto of [SCAN_FIRST, SCAN_HEAD, SCAN_WHOLE_MAX]) {
    const n = Math.min(size, upto);
    if (n > head.length) head = await read(n);
    const len = core.headerLength(head, size);
    if (len !== undefined) return head.subarray(0, len);
    if (head.length >= size) return head;
  }
  return null;
}

/** The headers of the files in the archive `blob`, one at a time; `depth`: how many archives
 * it is inside. */
async function* archiveHeaders(core, blob, depth = 0) {
  let files;
  try {
    files = await listArchive(core, blob);
  } catch {
    return; // the second pass says why
  }
  for (const listed of files) {
    const { entry } = listed;
    const size = Number(entry.size);
    let head;
    try {
      const [at, len] = core.zipHeadSpan(entry, SCAN_HEAD);
      const local = new Uint8Array(await blob.slice(at, at + len).arrayBuffer());
      head = core.unzipEntryHead(entry, local, SCAN_HEAD);
    } catch {
      continue; // an entry that cannot be read: its own turn says why
    }
    if (core.isZip(head.subarray(0, 4))) {
      // An archive inside: read whole (its inflated size is bounded by the core), and opened.
      if (depth >= core.nestedArchiveDepth()) continue;
      let inner;
      try {
        const { at, len } = listed;
        inner = core.unzipEntry(entry, new Uint8Array(await blob.slice(at, at + len).arrayBuffer()));
      } catch {
        continue;
      }
      yield* archiveHeaders(core, new Blob([inner]), depth + 1);
      continue;
    }
    const len = core.headerLength(head, size);
    if (len !== undefined) yield head.subarray(0, len);
    else if (head.length >= size) yield head;
  }
}

/**
 * The headers of file `item` (`{blob}`: a file on disk, or `{getBytes}`: bytes in memory),
 * one at a time: its own, or for an archive those of the files inside. A file that cannot be
 * read gives none (its own turn says why).
 */
export async function* headers(core, item) {
  if (item.blob) {
    const blob = item.blob;
    let start;
    try {
      start = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
    } catch {
      return;
    }
    if (core.isZip(start)) {
      yield* archiveHeaders(core, blob);
      return;
    }
    let head = null;
    try {
      head = await fileHeader(core, blob.size,
        async (n) => new Uint8Array(await blob.slice(0, n).arrayBuffer()));
    } catch {
      return;
    }
    if (head) yield head;
    return;
  }
  let bytes;
  try {
    bytes = new Uint8Array(await item.getBytes());
  } catch {
    return;
  }
  if (core.isZip(bytes.subarray(0, 4))) {
    yield* archiveHeaders(core, new Blob([bytes]));
    return;
  }
  const head = await fileHeader(core, bytes.length, async (n) => bytes.subarray(0, n));
  if (head) yield head;
}

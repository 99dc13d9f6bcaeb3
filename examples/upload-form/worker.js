// The de-identification, off the page's thread: Obscura's library from this app's own
// origin (the core and its text models are served beside it).
import { init, Session, ObscuraError } from './node_modules/obscura-dicom/index.js';

const ready = init();

onmessage = async ({ data }) => {
  if (data.type !== 'deidentify') return;
  let session;
  try {
    await ready;
    session = new Session({ key: data.key });
    // The first pass: a name one file gives is cleaned from every file's free text.
    const files = data.files.map((b) => new Uint8Array(b));
    for (const bytes of files) session.scan(bytes);
    const results = [];
    const transfer = [];
    for (const bytes of files) {
      try {
        const r = session.deidentify(bytes);
        results.push({ bytes: r.bytes, changes: r.changes.length, warnings: r.warnings.length });
        transfer.push(r.bytes.buffer);
      } catch (e) {
        if (!(e instanceof ObscuraError)) throw e;
        results.push({ code: e.code, reason: e.message });
      }
    }
    postMessage({ id: data.id, results }, transfer);
  } catch (e) {
    postMessage({ id: data.id, error: e.message || String(e) });
  } finally {
    if (session) session.free();
  }
};

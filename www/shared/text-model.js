// The text detection and recognition models (see www/models/README.md): fetched from this
// page's own origin only, with their SHA-256 as each fetch's integrity, and given to an
// instance of the core, which checks the same hashes again before loading them. Each worker
// that de-identifies loads them into its own core; the service worker keeps the files, so this
// works offline too.
export const TEXT_MODEL_URL = new URL('../models/text-detect.onnx', import.meta.url);
export const TEXT_MODEL_INTEGRITY = 'sha256-MKhvVzEYFGHQgCFAJ2ZgHkMCqbm5Zmvor/QCaWM5zf8=';
export const TEXT_READER_URL = new URL('../models/text-read.onnx', import.meta.url);
export const TEXT_READER_INTEGRITY = 'sha256-BrPmr2xZobpdU3kO2MLkst44mHC2z1qX80nzQSyyacA=';
export const TEXT_KEYS_URL = new URL('../models/text-read-keys.txt', import.meta.url);
export const TEXT_KEYS_INTEGRITY = 'sha256-KLI2KtSrLcOHaapy/rU146nds/0qdYWgWSDmOTsdx/c=';

// Each file's bytes, fetched once per worker.
const fetched = new Map();

async function fetchChecked(url, integrity) {
  if (!fetched.has(url.href)) {
    const response = await fetch(url, { integrity, credentials: 'same-origin' });
    if (!response.ok) throw new Error(`the page's server answered ${response.status}`);
    fetched.set(url.href, new Uint8Array(await response.arrayBuffer()));
  }
  return fetched.get(url.href);
}

const reason = (e) => (e && e.message ? e.message : String(e));

/**
 * Give the core (`{loadTextModel, textModelUnavailable, loadTextReader}` of
 * ../pkg/obscura.js) the models: the detector, and the reader unless `reader` is false. A
 * detection model that cannot be fetched or does not match is never used: the core is told
 * why, and detection reports itself unavailable on the files that need it. Returns why
 * detection is unavailable, or null.
 */
export async function loadTextModel(core, { reader = true } = {}) {
  try {
    core.loadTextModel(await fetchChecked(TEXT_MODEL_URL, TEXT_MODEL_INTEGRITY));
  } catch (e) {
    const why = `the text detection model could not be loaded: ${reason(e)}`;
    core.textModelUnavailable(why);
    return why;
  }
  if (reader) await giveTextReader(core);
  return null;
}

/**
 * Give the core the recognition model (after the detector, see `loadTextModel`). Without it
 * nothing is read, and every box found is blacked out (annotations cannot be kept; the change
 * log says so). The reader is large (about 50 MiB of the core's memory): the pool's cleaners
 * load it only for a run that keeps annotations; the main worker always does, to show what
 * each box reads in the image check. Returns whether it loaded.
 */
export async function giveTextReader(core) {
  try {
    const [model, keys] = await Promise.all([
      fetchChecked(TEXT_READER_URL, TEXT_READER_INTEGRITY),
      fetchChecked(TEXT_KEYS_URL, TEXT_KEYS_INTEGRITY),
    ]);
    core.loadTextReader(model, keys);
    return true;
  } catch (e) {
    console.warn(`the text recognition model could not be loaded: ${reason(e)}`);
    return false;
  }
}

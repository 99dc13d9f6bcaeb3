// The text detection model (see www/models/README.md): fetched from this page's own origin
// only, with its SHA-256 as the fetch's integrity, and given to an instance of the core, which
// checks the same hash again before loading it. Each worker that de-identifies loads it into
// its own core; the service worker keeps the file, so this works offline too.
export const TEXT_MODEL_URL = new URL('../models/text-detect.onnx', import.meta.url);
export const TEXT_MODEL_INTEGRITY = 'sha256-MKhvVzEYFGHQgCFAJ2ZgHkMCqbm5Zmvor/QCaWM5zf8=';

let bytes = null;

/**
 * Give the core (`{loadTextModel, textModelUnavailable}` of ../pkg/obscura.js) the model. A
 * model that cannot be fetched or does not match is never used: the core is told why, and
 * detection reports itself unavailable on the files that need it.
 */
export async function loadTextModel(core) {
  try {
    if (!bytes) {
      const response = await fetch(TEXT_MODEL_URL, { integrity: TEXT_MODEL_INTEGRITY, credentials: 'same-origin' });
      if (!response.ok) throw new Error(`the page's server answered ${response.status}`);
      bytes = new Uint8Array(await response.arrayBuffer());
    }
    core.loadTextModel(bytes);
    return null;
  } catch (e) {
    const why = `the text detection model could not be loaded: ${e && e.message ? e.message : e}`;
    core.textModelUnavailable(why);
    return why;
  }
}

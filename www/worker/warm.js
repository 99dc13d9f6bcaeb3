// Warming the core up. A browser optimises a WebAssembly module's code once it has run a
// while, on the same cores as the work: in a fresh browser, that competed with cleaning the
// first files (about 0.6 s of CPU for the core, more for the scripts around it). Each worker
// therefore runs the core on its built-in fake study while the page waits for files. Nothing
// of it is kept, and it stops as soon as there is real work.

/** Rounds of the fake study (6 small files) each worker runs at most. */
export const WARM_UP_ROUNDS = 30;

/**
 * Run `core` (the module's exports: Cleaner, sampleStudy) on its fake study, `rounds` times,
 * a round per task, while `idle()`. Throws what the core throws (a trap included).
 */
export async function warmUp(core, rounds, idle) {
  const settings = { options: [], randomKey: new Array(32).fill(0) };
  const sample = core.sampleStudy();
  for (let round = 0; round < rounds && idle(); round += 1) {
    const cleaner = new core.Cleaner(settings);
    try {
      for (const [, bytes] of sample) {
        if (!idle()) break;
        cleaner.clean(bytes);
      }
    } finally {
      cleaner.free();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

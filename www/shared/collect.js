// Asking the browser to collect its garbage, now and then, in the page and in each worker.
//
// A browser frees the buffers and strings that messages bring, and the messages themselves
// (with what Blink made for them: events, stream reads of files), only at a full garbage
// collection. It starts one when a script heap grows, or when much buffer memory has been
// allocated since the last one. Obscura's script heaps stay small and its buffers are used
// again, so that garbage, about 17 KB a file, built up for thousands of files: the tab grew
// by 260 MiB over a 4 GB study. Allocating a large buffer (which the browser counts as
// memory in use, but never touches: it costs no memory) and letting it go at once makes the
// browser collect. Every 250 files, the tab grew by 114 MiB over the same study (with the
// other changes of that time); every 100, about 8 MiB less than every 250, in the same time
// (`tools/tab-memory.mjs` and `make bench-huge` measure it).

/** Files between two requests for a collection. */
export const COLLECT_EVERY = 100;

/** The buffer that asks: above what the browser allows to be allocated between collections
 * (64 MiB in V8). */
const ASKING_BYTES = 96 << 20;

/** Counts files done in this thread and, every `every`, asks for a collection. */
export class Collector {
  constructor(every = COLLECT_EVERY) {
    this.every = every;
    this.files = 0;
    this.asked = 0;
  }

  /** One more file done. */
  fileDone() {
    this.files += 1;
    if (this.files % this.every === 0) this.ask();
  }

  ask() {
    this.asked += 1;
    try {
      void new ArrayBuffer(ASKING_BYTES);
    } catch {
      // No room for it here (a browser with little address space): the browser collects when
      // it must anyway.
    }
  }
}

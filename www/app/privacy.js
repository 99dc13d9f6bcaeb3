// The privacy panel's live proof: every network request the page or its worker makes after
// the first file is added is counted and shown (blob: and data: URLs are not network
// requests).

import { $ } from './dom.js';
import { on } from './store.js';

const network = { counting: false, since: Infinity, page: 0, worker: 0 };
// (The worker's own scripts show among the page's requests: counting starts once they are
// all loaded, which its first answer says, if files come sooner than that.)
let workerLoaded = false;
export function startCounting() {
  if (network.counting) return;
  network.counting = true;
  if (workerLoaded) network.since = performance.now();
  showNetwork();
}
function showNetwork() {
  const n = network.page + network.worker;
  $('network-count').textContent = `Network requests since you added files: ${n}${n === 0 ? ' (none)' : ''}.`;
}
if (typeof PerformanceObserver !== 'undefined') {
  new PerformanceObserver((list) => {
    if (!network.counting) return;
    for (const e of list.getEntries()) {
      if (e.startTime >= network.since && !/^(blob|data):/.test(e.name)) network.page += 1;
    }
    showNetwork();
  }).observe({ type: 'resource' });
}

// The worker has loaded its scripts: counting can start, if files came sooner than that.
on('worker-loaded', () => {
  workerLoaded = true;
  if (network.counting && network.since === Infinity) network.since = performance.now();
});

/** The worker's own count of its requests came. */
export function workerCounted(msg) {
  network.worker = msg.count;
  if (network.counting) showNetwork();
}

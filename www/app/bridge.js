// The page's one way to its worker: the worker itself (and the service worker that keeps the
// page offline), made under the page's Trusted Types policy, and the requests whose answers
// the page awaits. Messages are posted with `toWorker.post(worker, …)` and routed back to
// the sections by main.js (see ../shared/protocol.js).

import { Collector } from '../shared/collect.js';
import { toWorker, Requests } from '../shared/protocol.js';

// Trusted Types (required by the page's CSP where the browser supports them): the only script
// URLs the page ever makes are its own worker and service worker, on its own origin.
const scriptPolicy = globalThis.trustedTypes?.createPolicy('obscura', {
  createScriptURL(url) {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin) throw new Error(`refused to load a script from ${u.origin}`);
    return u.href;
  },
});
const scriptUrl = (url) => (scriptPolicy ? scriptPolicy.createScriptURL(url) : url);

// Offline after the first visit: a service worker keeps the page's own files.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(scriptUrl(new URL('../sw.js', import.meta.url).href))
    .catch(() => { /* the page works without it, online */ });
}

/** The main worker (worker/worker.js), which does all the work. */
export const worker = new Worker(scriptUrl(new URL('../worker/worker.js', import.meta.url).href), { type: 'module' });

/** Requests to the worker whose answers the page awaits. */
export const requests = new Requests(toWorker, worker);

/** Asks the browser to collect the garbage messages leave (see ../shared/collect.js). */
export const collector = new Collector();

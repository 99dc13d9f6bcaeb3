// The service worker: keeps the page's own files (and nothing else) so Obscura opens and works
// with the network off after a first visit. Same-origin GET requests only; the network is
// tried first so an updated page is used as soon as it is reachable, the copy otherwise.
// It never sees patient files: they are read from disk by the page, not fetched.
const CACHE = 'obscura-app-v13';
const APP = [
  './', 'index.html', 'style.css', 'favicon.svg', 'manifest.webmanifest',
  'app/main.js', 'app/bridge.js', 'app/store.js', 'app/dom.js', 'app/settings.js', 'app/files.js', 'app/results.js', 'app/image-check.js', 'app/privacy.js', 'app/entries.js',
  'worker/worker.js', 'worker/batch.js', 'worker/admission.js', 'worker/first-pass.js', 'worker/review.js', 'worker/pieces.js', 'worker/reads.js', 'worker/buffers.js', 'worker/warm.js', 'worker/pool.js', 'worker/cleaner.js', 'shared/collect.js', 'shared/core-memory.js', 'shared/text-model.js', 'shared/protocol.js',
  'pkg/obscura.js', 'pkg/obscura_bg.wasm', 'models/text-detect.onnx', 'models/text-read.onnx', 'models/text-read-keys.txt',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(APP)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok && !url.search) cache.put(event.request, response.clone());
      return response;
    } catch (e) {
      const kept = await cache.match(event.request, { ignoreSearch: true });
      if (kept) return kept;
      throw e;
    }
  })());
});

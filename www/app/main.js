// The page: collects files and settings, sends them to the worker, and draws what comes back.
// Nothing here parses DICOM or waits on heavy work, so the page never blocks.
//
// One module per section of the page, each drawing its own part: settings.js (step 2),
// files.js (step 1 and the file list), results.js (status, the package's tree, the outputs),
// image-check.js (the viewer and its boxes) and privacy.js (the network count). They share
// the batch through store.js and tell each other what happened through its events; they talk
// to the worker through bridge.js. This module puts them together and hands each message of
// the worker to the section it is for (docs/ARCHITECTURE.md, "The page").

import { worker, requests } from './bridge.js';
import { optionsCame } from './settings.js';
import { added, resultCame } from './files.js';
import { packageMade, packageSaved, reidMade, workerFailed } from './results.js';
import { keyImageSet, regionApplied } from './image-check.js';
import { workerCounted } from './privacy.js';
import { toWorker, fromWorker } from '../shared/protocol.js';

/** An answer to a request of the page's: to the request waiting for it. */
function answered(msg) {
  requests.settle(msg);
}

/** One message of the worker's (files added and their results come a few at a time, in
 * `many`). */
function handleMessage(msg) {
  fromWorker.receive(msg, messageHandlers);
}
// A handler for every message of the worker (see ../shared/protocol.js).
const messageHandlers = {
  many(msg) { for (const m of msg.messages) handleMessage(m); },
  options: optionsCame,
  added,
  result: resultCame,
  package: packageMade,
  packageSaved,
  reid: reidMade,
  preview: answered,
  details: answered,
  regionApplied,
  keyImageSet,
  thumbnail: answered,
  settingsChanged: answered,
  network: workerCounted,
  error(msg) { workerFailed(msg.message); },
};
worker.onmessage = (ev) => handleMessage(ev.data);
worker.onerror = (ev) => workerFailed(ev.message || 'the worker stopped');
toWorker.post(worker, 'options');

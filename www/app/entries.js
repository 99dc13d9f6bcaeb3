// Files and folders dropped on the page, through the drag-and-drop entries API: every file
// below a folder, folder by folder, in the order the browser lists them.

import { errorText } from '../shared/protocol.js';

/** Append to `out` the File of `entry`, or every file below it when it is a folder. A
 * folder's reader hands its entries over in batches (Chromium: 100 at a time) until an empty
 * one. What cannot be read (a file removed meanwhile, a folder not allowed) goes to `failed`
 * as `{ path, reason }`, and the walk goes on. */
export async function entriesToFiles(entry, out, failed = []) {
  const path = entry.fullPath || entry.name || '(dropped item)';
  try {
    if (entry.isFile) {
      out.push(await new Promise((res, rej) => entry.file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await entriesToFiles(e, out, failed);
      }
    }
  } catch (e) {
    failed.push({ path, reason: `could not be read: ${errorText(e)}` });
  }
  return { out, failed };
}

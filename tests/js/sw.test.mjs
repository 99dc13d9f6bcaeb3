// The service worker keeps every file the page needs to work offline: each script, style and
// the core in www/ and pkg/ is in its list (a file added to the page and forgotten there would
// break the page with the network off).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the service worker keeps every script of the page', () => {
  const sw = readFileSync(join(ROOT, 'www', 'sw.js'), 'utf8');
  const list = sw.match(/const APP = \[([\s\S]*?)\];/)[1];
  const kept = new Set([...list.matchAll(/'([^']+)'/g)].map((m) => m[1]));
  const needed = ['app', 'worker'].flatMap((d) => readdirSync(join(ROOT, 'www', d))
    .filter((f) => f.endsWith('.js')).map((f) => `${d}/${f}`));
  needed.push('index.html', 'style.css', 'pkg/obscura.js', 'pkg/obscura_bg.wasm');
  for (const f of needed) assert.ok(kept.has(f), `${f} is missing from www/sw.js`);
});

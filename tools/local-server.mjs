// The page's local server (tools/serve.py) on a free port, for scripts that drive the page:
// the benchmarks, tab-memory.mjs and the end-to-end tests; and Debian's Chromium (headless)
// as the benchmarks and tab-memory.mjs launch it.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** Debian's Chromium, headless, with the flags these machines need (running as root, no GPU,
 * a small /dev/shm) and `extraArgs`. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', ...extraArgs],
  });
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Start the server: resolves to `{ server, origin }` once it listens. */
export async function startServer() {
  const server = spawn('python3', [join(ROOT, 'tools', 'serve.py'), '--port', '0'], {
    env: { ...process.env, OBSCURA_SERVE_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise((resolve, reject) => {
    let buf = '';
    server.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { server, origin };
}

// The page's local server (tools/serve.py) on a free port, for scripts that drive the page:
// the benchmarks, tab-memory.mjs and the end-to-end tests.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

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

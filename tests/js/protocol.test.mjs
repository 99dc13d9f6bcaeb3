// The page–worker protocol (www/shared/protocol.js): one definition, which every sender and
// receiver goes through, and which holds no message nobody sends or nobody handles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { Channel, Requests, toWorker, fromWorker, toCleaner, fromCleaner } from '../../www/shared/protocol.js';

const source = (path) => readFileSync(new URL(`../../www/${path}`, import.meta.url), 'utf8');
// The page's modules: each section posts to the worker itself; main.js routes what comes back.
const pageFiles = readdirSync(new URL('../../www/app/', import.meta.url)).filter((f) => f.endsWith('.js')).map((f) => `app/${f}`);

test('a channel posts and hands on only the messages it defines', () => {
  const channel = new Channel('a → b', { hello: 'a greeting' });
  const posted = [];
  const target = { postMessage: (msg, transfer) => posted.push([msg, transfer]) };
  const buffer = new ArrayBuffer(4);
  channel.post(target, 'hello', { to: 'you' }, [buffer]);
  assert.deepEqual(posted, [[{ to: 'you', type: 'hello' }, [buffer]]]);
  assert.throws(() => channel.post(target, 'helo'), /a → b: there is no message "helo"/);
  assert.equal(posted.length, 1, 'nothing posted for a type it does not define');

  assert.equal(channel.receive({ type: 'hello', to: 'me' }, { hello: (m) => `hi ${m.to}` }), 'hi me');
  assert.throws(() => channel.receive({ type: 'bye' }, { hello() {} }), /there is no message "bye"/);
  assert.throws(() => channel.receive({ type: 'hello' }, {}), /nothing handles "hello"/);
  assert.throws(() => channel.receive(undefined, {}), /there is no message/);
  // Not even a type inherited from Object's prototype.
  assert.throws(() => channel.receive({ type: 'toString' }, { toString() {} }), /there is no message/);
  assert.throws(() => { channel.types.bye = 'x'; }, TypeError);
});

// Each channel, the files that send on it, and the handlers that receive it.
const channels = [
  { name: 'toWorker', channel: toWorker, senders: pageFiles, receiver: 'worker/worker.js', handlers: 'const handlers = {' },
  { name: 'fromWorker', channel: fromWorker, senders: ['worker/worker.js', 'worker/batch.js'], receiver: 'app/main.js', handlers: 'const messageHandlers = {' },
  { name: 'toCleaner', channel: toCleaner, senders: ['worker/pool.js'], receiver: 'worker/cleaner.js', handlers: 'toCleaner.receive(ev.data, {' },
  { name: 'fromCleaner', channel: fromCleaner, senders: ['worker/cleaner.js'], receiver: 'worker/pool.js', handlers: 'fromCleaner.receive(msg, {' },
];

/** The message types a file sends: through a channel's `post` or `message`, as a literal
 * `{ type: '…' }` handed to the main worker's `post` (batch.js), as the main worker's
 * `answer` to a request, or as a request of the page's (`requests.request`). */
function sent(text) {
  const types = new Set();
  for (const m of text.matchAll(/\.(?:post\([^,()]+,|message\()\s*'(\w+)'/g)) types.add(m[1]);
  for (const m of text.matchAll(/\{\s*type: '(\w+)'/g)) types.add(m[1]);
  for (const m of text.matchAll(/\banswer\(\s*'(\w+)'/g)) types.add(m[1]);
  for (const m of text.matchAll(/\brequests\.request\(\s*'(\w+)'/g)) types.add(m[1]);
  return types;
}

/** The keys of the handler object that starts at `start` in `text` (to the first line that
 * closes it at its own indentation): `name:`, `name,`, `name(` and `async name(`. */
function handled(text, start) {
  const from = text.indexOf(start);
  assert.ok(from >= 0, `the handlers (${start})`);
  const indent = text.slice(text.lastIndexOf('\n', from) + 1, from).match(/^\s*/)[0];
  const end = text.indexOf(`\n${indent}}`, from);
  const body = text.slice(from + start.length, end);
  const keyIndent = `${indent}  `;
  const types = new Set();
  for (const line of body.split('\n')) {
    if (!line.startsWith(keyIndent) || line.startsWith(`${keyIndent} `)) continue; // only its own keys
    const m = line.slice(keyIndent.length).match(/^(?:async\s+)?(\w+)(?:\s*:|\s*\(|,$)/);
    if (m) types.add(m[1]);
  }
  return types;
}

for (const { name, channel, senders, receiver, handlers } of channels) {
  test(`every message ${channel.name} is sent somewhere and handled`, () => {
    const sentTypes = new Set(senders.flatMap((f) => [...sent(source(f))]));
    const receiverText = source(receiver);
    assert.match(receiverText, new RegExp(`${name}\\.receive\\(`), `${receiver} hands what it gets to ${name}`);
    const handledTypes = handled(receiverText, handlers);
    for (const type of Object.keys(channel.types)) {
      assert.ok(sentTypes.has(type), `${channel.name}: "${type}" is never sent`);
      assert.ok(handledTypes.has(type), `${channel.name}: ${receiver} has no handler for "${type}"`);
    }
    // And no handler for a message the channel does not carry.
    for (const type of handledTypes) {
      assert.ok(Object.hasOwn(channel.types, type), `${receiver} handles "${type}", which ${channel.name} does not carry`);
    }
  });
}

test('no file posts a message around the protocol', () => {
  // Only the main worker's outbox (a `many` of messages its `post` checked) and the channel
  // itself call postMessage with a message of their own making.
  for (const file of [...pageFiles, 'worker/pool.js', 'worker/cleaner.js', 'worker/batch.js']) {
    assert.doesNotMatch(source(file), /postMessage\(\s*\{/, `${file} posts through a channel`);
  }
  const worker = source('worker/worker.js');
  assert.deepEqual([...worker.matchAll(/postMessage\(\s*\{\s*type: '(\w+)'/g)].map((m) => m[1]), ['many']);
  assert.match(worker, /fromWorker\.message\(msg\.type\)/, 'the main worker checks what it posts');
  // Every type sent in a file is one of its channels'.
  for (const { senders } of channels) {
    for (const file of senders) {
      for (const m of source(file).matchAll(/\b(toWorker|fromWorker|toCleaner|fromCleaner)\.(?:post\([^,()]+,|message\()\s*'(\w+)'/g)) {
        const named = { toWorker, fromWorker, toCleaner, fromCleaner }[m[1]];
        assert.ok(Object.hasOwn(named.types, m[2]), `${file}: ${m[1]} has no "${m[2]}"`);
      }
    }
  }
});

test('a request gets its own answer, an error rejects it, and a cancelled one drops its answer', async () => {
  const posted = [];
  const requests = new Requests(toWorker, { postMessage: (msg) => posted.push(msg) });
  const first = requests.request('details', { id: 1 });
  const second = requests.request('details', { id: 2 });
  assert.deepEqual(posted.map((m) => [m.type, m.id]), [['details', 1], ['details', 2]]);
  assert.notEqual(posted[0].ask, posted[1].ask, 'each request has its own number');
  assert.equal(requests.pending, 2);
  // Answers come in any order, each to its own request.
  requests.settle({ type: 'details', id: 2, ask: posted[1].ask, details: 'two' });
  requests.settle({ type: 'details', id: 1, ask: posted[0].ask, details: 'one' });
  assert.equal((await first).details, 'one');
  assert.equal((await second).details, 'two');

  const failing = requests.request('preview', { id: 3 });
  requests.settle({ type: 'preview', id: 3, ask: posted[2].ask, error: 'cannot be drawn' });
  await assert.rejects(failing, /cannot be drawn/);

  const viewer = new AbortController();
  const stale = requests.request('preview', { id: 4 }, { signal: viewer.signal });
  viewer.abort();
  await assert.rejects(stale, { name: 'AbortError' });
  assert.equal(requests.pending, 0, 'a cancelled request no longer waits');
  // Its answer comes later, and is dropped; so is an answer nobody asked for.
  requests.settle({ type: 'preview', id: 4, ask: posted[3].ask, before: {} });
  requests.settle({ type: 'preview', id: 5, ask: 999 });
  await assert.rejects(requests.request('preview', { id: 6 }, { signal: viewer.signal }), { name: 'AbortError' });
  assert.equal(posted.length, 4, 'a request cancelled before it is made is not posted');
  assert.throws(() => requests.request('nonsense'), /there is no message "nonsense"/);
  assert.equal(requests.pending, 0, 'nothing waits for a request that could not be made');
});

test('an answered request leaves no listener on the signal it shares with others', async () => {
  const posted = [];
  const requests = new Requests(toWorker, { postMessage: (msg) => posted.push(msg) });
  const listeners = new Set();
  const signal = {
    aborted: false,
    addEventListener: (type, f) => listeners.add(f),
    removeEventListener: (type, f) => listeners.delete(f),
  };
  const asked = [1, 2, 3].map((id) => requests.request('thumbnail', { id }, { signal }));
  assert.equal(listeners.size, 3);
  posted.slice(0, 2).forEach((m) => requests.settle({ type: 'thumbnail', id: m.id, ask: m.ask }));
  await Promise.all(asked.slice(0, 2));
  assert.equal(listeners.size, 1, 'only the request still waiting listens');
  requests.settle({ type: 'thumbnail', id: 3, ask: posted[2].ask, error: 'no image' });
  await assert.rejects(asked[2], /no image/);
  assert.equal(listeners.size, 0);
});

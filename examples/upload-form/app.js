// An app's upload form that de-identifies with Obscura's library (obscura-dicom) before it
// uploads: the files are read here, de-identified in a module worker (worker.js), and only
// what the worker gives back is sent, to this app's own server (POST /upload).
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let next = 0;
const waiting = new Map();
worker.onmessage = ({ data }) => {
  waiting.get(data.id)(data);
  waiting.delete(data.id);
};
function ask(message, transfer = []) {
  const id = (next += 1);
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage({ id, ...message }, transfer);
  });
}

const status = document.getElementById('status');
const results = document.getElementById('results');
function line(text, leftOut = false) {
  const li = document.createElement('li');
  li.textContent = text;
  if (leftOut) li.className = 'left-out';
  results.append(li);
}

document.getElementById('upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  results.replaceChildren();
  const files = [...document.getElementById('files').files];
  const passphrase = document.getElementById('project').value;
  // The project's salt: fixed for this app, so that every upload of a project agrees on
  // pseudonyms and UIDs.
  const salt = '6f627363757261206578616d706c6521';
  const buffers = await Promise.all(files.map((f) => f.arrayBuffer()));
  status.textContent = `De-identifying ${files.length} files in this browser…`;
  const answer = await ask({ type: 'deidentify', key: { passphrase, salt }, files: buffers }, buffers);
  if (answer.error) {
    status.textContent = `Nothing was sent: ${answer.error}`;
    return;
  }
  let sent = 0;
  for (const [i, r] of answer.results.entries()) {
    if (!r.bytes) {
      line(`${files[i].name}: not sent (${r.reason})`, true);
      continue;
    }
    const response = await fetch('/upload', { method: 'POST', body: r.bytes, headers: { 'Content-Type': 'application/dicom' } });
    if (!response.ok) {
      line(`${files[i].name}: de-identified, but the upload failed (HTTP ${response.status})`, true);
      continue;
    }
    sent += 1;
    line(`${files[i].name}: sent de-identified (${r.changes} changes${r.warnings ? `, ${r.warnings} to check` : ''})`);
  }
  status.textContent = `${sent} of ${files.length} files sent, de-identified.`;
});

// Type-checked (not run) against the installed package's index.d.ts by tests/library: the
// API as the README shows it, and misuses the types must refuse.
import { init, Session, Batch, ObscuraError, renderFrame, profileOptions, detectionStatus } from 'obscura-dicom';
import type { Deidentified, FileResult, Policy, ErrorCode } from 'obscura-dicom';

export async function use(files: { name: string; bytes: Uint8Array }[]): Promise<Uint8Array> {
  const status = await init({ textModels: true });
  const available: boolean = status.available && detectionStatus().available;
  const policy: Policy = {
    key: { passphrase: 'p', salt: '00112233445566778899aabbccddeeff' },
    options: profileOptions().presets[0].options,
    detectText: available,
  };
  const session = new Session(policy);
  for (const f of files) session.scan(f.bytes);
  try {
    const out: Deidentified = session.deidentify(files[0].bytes);
    const names: string[] = out.changes.map((c) => `${c.name} ${c.action}`);
    const frame = renderFrame(out.bytes, { frame: 0 });
    console.log(names.length, frame.width * frame.height, out.after.patientName, out.detections[0]?.w);
  } catch (e) {
    if (e instanceof ObscuraError) {
      const code: ErrorCode = e.code;
      console.log(code, e.message);
    }
  } finally {
    session.free();
  }
  const batch = new Batch({ key: { bytes: new Uint8Array(32) }, only: '1;2:1-3' });
  const results: FileResult[] = files.map((f) => batch.add(f.bytes, f.name));
  const byPath = new Map(files.map((f, i) => [results[i].packagePath, f.bytes]));
  // @ts-expect-error: a policy has no such field
  new Session({ keyy: 'x' });
  // @ts-expect-error: a key is a passphrase and salt, or bytes
  new Session({ key: 'secret' });
  // @ts-expect-error: a file is bytes, not a path
  batch.add('study/IM0001.dcm');
  return batch.package({ notes: 'n', originals: (p) => byPath.get(p) ?? new Uint8Array() });
}

// Small helpers for drawing the page: nothing here holds state.

/** The element with the id `id`. */
export const $ = (id) => document.getElementById(id);

/** A new `tag` element with `content` as its text and `cls` as its class. */
export function text(tag, content, cls) {
  const el = document.createElement(tag);
  if (content !== undefined) el.textContent = content;
  if (cls) el.className = cls;
  return el;
}

/** `n` and `word`, in the plural unless `n` is 1 ("1 file", "3 studies"). */
export function plural(n, word) {
  if (n === 1) return `1 ${word}`;
  return word.endsWith('y') ? `${n} ${word.slice(0, -1)}ies` : `${n} ${word}s`;
}

/** A file's header as its row shows it: patient, study, series. */
export function describe(summary) {
  if (!summary) return '';
  const lines = [
    [summary.patientName, summary.patientId].filter(Boolean).join(' · '),
    [summary.studyDate, summary.studyDescription].filter(Boolean).join(' · '),
    [summary.modality, summary.seriesNumber && `series ${summary.seriesNumber}`, summary.seriesDescription]
      .filter(Boolean).join(' · '),
  ];
  return lines.filter(Boolean).join('\n');
}

/** Offer `blob` as a download named `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

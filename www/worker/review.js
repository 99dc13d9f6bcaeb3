// What the user decides while looking at the images: boxes to black out, detected boxes that
// are not text, and key images for the case page. Plain data: the batch (./batch.js) gives
// the boxes to the core with the run's settings and rebuilds the package when they change.

/** A box in whole, non-negative image pixels. */
function wholeBox(region) {
  return ['x', 'y', 'w', 'h'].reduce((b, k) => ({ ...b, [k]: Math.max(0, Math.round(region[k])) }), {});
}

const SCOPE_WORDS = { image: 'this image', series: 'its series', size: 'images of this size' };

/** The boxes the user drew (as region rules) and the detected boxes they said are not text. */
export class UserBoxes {
  constructor() {
    this.rules = [];
    this.rejected = [];
  }

  /**
   * Black out `region` ({x, y, w, h} in image pixels) of the image `key` (the core's
   * `imageKey`) and, by `scope`, in the rest of its series ('series') or every image of its
   * size ('size'), or in it alone ('image').
   */
  add(key, scope, region) {
    const rule = { name: `box drawn on the page (${Object.hasOwn(SCOPE_WORDS, scope) ? SCOPE_WORDS[scope] : SCOPE_WORDS.size})`, regions: [wholeBox(region)] };
    if (scope === 'image') rule.sop_instance_uid = key.sopInstanceUid;
    else if (scope === 'series') rule.series_instance_uid = key.seriesInstanceUid;
    else if (key.rows && key.columns) Object.assign(rule, { rows: key.rows, columns: key.columns });
    else throw new Error('the image has no size');
    this.rules.push(rule);
  }

  /** Take back the `index`th box drawn (see `drawn`). */
  remove(index) {
    if (!this.rules[index]) throw new Error('there is no such box');
    this.rules.splice(index, 1);
  }

  /** A box detection found in image `key`: with `notText` it is left visible in that image;
   * without, it is blacked out again. */
  setDetection(key, region, notText) {
    const box = wholeBox(region);
    const same = (r) => r.sop_instance_uid === key.sopInstanceUid
      && ['x', 'y', 'w', 'h'].every((k) => r[k] === box[k]);
    this.rejected = this.rejected.filter((r) => !same(r));
    if (notText) this.rejected.push({ sop_instance_uid: key.sopInstanceUid, ...box });
  }

  /**
   * The boxes drawn so far, in order: `[{index, name, x, y, w, h}]` (`name` says where each
   * applies, `index` is what `remove` takes). With `key` (an image's, as `add` takes it), only
   * those that apply to that image: drawn on it, on its series, or on images of its size.
   */
  drawn(key = null) {
    const applies = (r) => !key || (r.sop_instance_uid !== undefined ? r.sop_instance_uid === key.sopInstanceUid
      : r.series_instance_uid !== undefined ? r.series_instance_uid === key.seriesInstanceUid
        : r.rows === key.rows && r.columns === key.columns);
    return this.rules.map((r, index) => ({ index, name: r.name, ...r.regions[0] }))
      .filter((b, index) => applies(this.rules[index]));
  }

  /** The boxes as the core's `userRegions` setting takes them, or `undefined` when there are none. */
  toJson() {
    return this.rules.length || this.rejected.length
      ? JSON.stringify({ rules: this.rules, rejected: this.rejected }) : undefined;
  }

  /** What `restore` needs to undo the changes made after it. */
  save() {
    return [this.rules.slice(), this.rejected.slice()];
  }

  restore(saved) {
    [this.rules, this.rejected] = saved;
  }

  clear() {
    this.restore([[], []]);
  }
}

/**
 * The key images of the case page: those the user chose (`choices`: file id → {frame,
 * window}, for files now in the package at `pathOf`), and the core's own choice (`plan`:
 * [name, path], its middle image) for every series where the user chose none. Each as
 * `{name, path, frame, window}`.
 */
export function keyImagesWanted(choices, pathOf, plan) {
  const folder = (path) => path.slice(0, path.lastIndexOf('/'));
  const chosen = [...choices].filter(([id]) => pathOf.has(id));
  const chosenSeries = new Set(chosen.map(([id]) => folder(pathOf.get(id))));
  const wanted = chosen.map(([id, c]) => {
    const path = pathOf.get(id);
    const frame = c.frame ?? undefined;
    const name = `images/${path.slice(path.indexOf('/') + 1).replaceAll('/', '-')}${frame === undefined ? '' : `-frame${frame + 1}`}.png`;
    return { name, path, frame, window: c.window };
  });
  for (const [name, path] of plan) {
    if (!chosenSeries.has(folder(path))) wanted.push({ name, path });
  }
  return wanted;
}

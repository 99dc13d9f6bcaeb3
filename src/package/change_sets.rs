//! The change logs' record of what was done to each file, with the files that had the same
//! changes sharing one list.
//!
//! In a series, every image usually gets the same changes (the same attributes, removed or
//! replaced for the same reasons). The logs used to hold each file's list: a CT series of
//! 1,900 slices gave a `CHANGES.txt` of 10 MB saying the same thing 1,900 times (and the
//! page's main worker formatted and deflated three logs for every file). Here each distinct
//! list is held once and each file only says which is its own (4 bytes); the logs are
//! written from them when the package is made (see `Layout::package_files`).
//!
//! Lists are held as they are until they take [`PLAIN_BYTES`]; after that (thousands of files
//! each with changes of its own, which a study seldom has) new lists are held deflated, about
//! a tenth of that.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::deid::Change;

/// Bytes of lists held as they are, before new ones are held deflated.
pub const PLAIN_BYTES: usize = 16 << 20;

/// One distinct list of changes.
#[derive(Debug)]
enum Held {
    Plain(Vec<Change>),
    /// The list as compact JSON, deflated.
    Deflated(Vec<u8>),
}

/// The distinct lists of changes of the files placed, in the order they were first met, and
/// which one each file had.
#[derive(Debug, Default)]
pub struct ChangeSets {
    sets: Vec<Held>,
    /// Hash of a list → the sets with that hash.
    index: HashMap<u64, Vec<u32>>,
    /// For each file placed, in order, the number of its list in `sets`.
    of_file: Vec<u32>,
    /// Bytes the plain lists take.
    plain_bytes: usize,
}

/// The hash of a list of changes (equal lists, equal hashes).
fn hash_of(changes: &[Change]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    changes.hash(&mut h);
    h.finish()
}

/// About how many bytes a change takes in memory.
fn size_of_change(c: &Change) -> usize {
    std::mem::size_of::<Change>()
        + c.path.capacity()
        + c.name.capacity()
        + c.reason.capacity()
        + match &c.action {
            Cow::Owned(s) => s.capacity(),
            Cow::Borrowed(_) => 0,
        }
}

/// A list as compact JSON, deflated.
fn deflate(changes: &[Change]) -> Vec<u8> {
    let json = serde_json::to_vec(changes).unwrap_or_default();
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(&json);
    enc.finish().unwrap_or_default()
}

/// A list back from [`deflate`].
fn inflate(bytes: &[u8]) -> Vec<Change> {
    let mut json = Vec::new();
    if DeflateDecoder::new(bytes).read_to_end(&mut json).is_err() {
        return Vec::new();
    }
    serde_json::from_slice(&json).unwrap_or_default()
}

impl ChangeSets {
    /// No file yet.
    pub fn new() -> ChangeSets {
        ChangeSets::default()
    }

    /// Record the changes of the next file placed; returns the number of its list.
    pub fn add(&mut self, changes: &[Change]) -> usize {
        let hash = hash_of(changes);
        let mut deflated: Option<Vec<u8>> = None;
        if let Some(candidates) = self.index.get(&hash) {
            for &n in candidates {
                let same = match &self.sets[n as usize] {
                    Held::Plain(list) => list.as_slice() == changes,
                    Held::Deflated(bytes) => {
                        // Equal lists give equal JSON, and the compressor is deterministic.
                        *bytes == *deflated.get_or_insert_with(|| deflate(changes))
                    }
                };
                if same {
                    self.of_file.push(n);
                    return n as usize;
                }
            }
        }
        let n = self.sets.len() as u32;
        let size: usize = changes.iter().map(size_of_change).sum();
        if self.plain_bytes + size <= PLAIN_BYTES {
            self.plain_bytes += size;
            self.sets.push(Held::Plain(changes.to_vec()));
        } else {
            self.sets
                .push(Held::Deflated(deflated.unwrap_or_else(|| deflate(changes))));
        }
        self.index.entry(hash).or_default().push(n);
        self.of_file.push(n);
        n as usize
    }

    /// Number of files recorded.
    pub fn files(&self) -> usize {
        self.of_file.len()
    }

    /// Number of distinct lists.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no file was recorded.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The number of the list of the `file`-th file recorded (from 0).
    pub fn set_of(&self, file: usize) -> usize {
        self.of_file.get(file).map_or(0, |&n| n as usize)
    }

    /// The list numbered `set`.
    pub fn changes(&self, set: usize) -> Cow<'_, [Change]> {
        match self.sets.get(set) {
            Some(Held::Plain(list)) => Cow::Borrowed(list.as_slice()),
            Some(Held::Deflated(bytes)) => Cow::Owned(inflate(bytes)),
            None => Cow::Owned(Vec::new()),
        }
    }

    /// For each list, the files that had it, in order: each as runs of file numbers, a run
    /// going on while `follows(last, next)` says file `next` comes right after file `last`
    /// (the next image of the same series). Returned as (first, last, count) per run.
    pub fn runs(&self, follows: impl Fn(usize, usize) -> bool) -> Vec<Vec<Run>> {
        let mut runs: Vec<Vec<Run>> = (0..self.sets.len()).map(|_| Vec::new()).collect();
        for (file, &set) in self.of_file.iter().enumerate() {
            Run::add(&mut runs[set as usize], file, &follows);
        }
        runs
    }
}

/// Files that follow each other (see [`ChangeSets::runs`]): numbers of the first and last
/// file, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The first file's number.
    pub first: usize,
    /// The last file's number.
    pub last: usize,
    /// How many files.
    pub count: usize,
}

impl Run {
    /// Add file `file` to `runs` (files in order): to the last run when
    /// `follows(its last file, file)`, else as a run of its own.
    pub fn add(runs: &mut Vec<Run>, file: usize, follows: impl Fn(usize, usize) -> bool) {
        match runs.last_mut() {
            Some(run) if follows(run.last, file) => {
                run.last = file;
                run.count += 1;
            }
            _ => runs.push(Run {
                first: file,
                last: file,
                count: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, action: &'static str) -> Change {
        Change {
            path: path.to_string(),
            name: "Name".to_string(),
            action: Cow::Borrowed(action),
            reason: "because".to_string(),
        }
    }

    #[test]
    fn equal_lists_are_held_once_and_files_keep_their_own() {
        let a = vec![
            change("(0010,0010)", "removed"),
            change("(0008,0018)", "uid-replaced"),
        ];
        let b = vec![change("(0010,0010)", "emptied")];
        let mut sets = ChangeSets::new();
        assert_eq!(sets.add(&a), 0);
        assert_eq!(sets.add(&b), 1);
        assert_eq!(sets.add(&a.clone()), 0);
        assert_eq!(sets.add(&[]), 2);
        assert_eq!(sets.add(&b), 1);
        assert_eq!((sets.len(), sets.files()), (3, 5));
        assert_eq!(sets.set_of(2), 0);
        assert_eq!(&*sets.changes(1), b.as_slice());
        assert!(sets.changes(2).is_empty());
        // Runs: file numbers that follow each other (here: consecutive numbers).
        let runs = sets.runs(|last, next| next == last + 1);
        assert_eq!(
            runs[0],
            vec![
                Run {
                    first: 0,
                    last: 0,
                    count: 1
                },
                Run {
                    first: 2,
                    last: 2,
                    count: 1
                }
            ]
        );
        let runs = sets.runs(|_, _| true);
        assert_eq!(
            runs[1],
            vec![Run {
                first: 1,
                last: 4,
                count: 2
            }]
        );
    }

    #[test]
    fn past_the_plain_bytes_lists_are_held_deflated_and_still_shared() {
        let mut sets = ChangeSets::new();
        // Lists of about 1 MiB each: the plain ones fill PLAIN_BYTES, the rest are deflated.
        let list = |i: usize| -> Vec<Change> {
            (0..4000)
                .map(|j| change(&format!("({i:04},{j:04}) {}", "x".repeat(100)), "removed"))
                .collect()
        };
        let lists: Vec<Vec<Change>> = (0..24).map(list).collect();
        for l in &lists {
            sets.add(l);
        }
        assert!(sets.plain_bytes <= PLAIN_BYTES);
        assert!(sets.sets.iter().any(|s| matches!(s, Held::Deflated(_))));
        // Met again, a deflated list is found, and comes back whole.
        let last = lists.len() - 1;
        assert_eq!(sets.add(&lists[last]), last);
        assert_eq!(sets.add(&lists[0]), 0);
        assert_eq!(sets.len(), lists.len());
        assert_eq!(&*sets.changes(last), lists[last].as_slice());
    }
}

//! The inputs of a run: the files under the paths given (folders walked, links out of them
//! not followed unless asked, a DICOMDIR's files), and the entries of ZIP archives among them
//! (archives inside archives opened as the page opens them: `crate::input::NESTED_DEPTH`),
//! each read only when its turn comes.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every file under the inputs, in a stable order, each once; a DICOMDIR given as an input
/// brings the files it lists (a disc's `DICOMDIR` given alone is its study).
/// The files to de-identify under the inputs (see [`walk`]), and the links that lead out of
/// the folder they were found in, not followed unless `follow_links` (a disc's or a folder's
/// link can lead to other patients' files: only what the user gave is read).
pub(crate) fn collect_files(
    inputs: &[PathBuf],
    follow_links: bool,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut not_followed = Vec::new();
    for input in inputs {
        // An input that is not there is the user's mistake: said at once, nothing done.
        let meta = fs::metadata(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let root = if meta.is_dir() {
            fs::canonicalize(input).ok()
        } else {
            None
        };
        let mut found = Vec::new();
        walk(input, &mut found, &mut seen);
        if meta.is_file() {
            found.extend(dicomdir_listed(input));
            // A DICOMDIR lists files in its own folder and below.
            let parent = input.parent().filter(|p| !p.as_os_str().is_empty());
            let root = fs::canonicalize(parent.unwrap_or(Path::new(".")));
            for f in found {
                let inside = f == *input || root.as_ref().is_ok_and(|r| is_inside(&f, r));
                if inside || follow_links {
                    files.push(f);
                } else {
                    not_followed.push(f);
                }
            }
            continue;
        }
        for f in found {
            if follow_links || root.as_ref().is_none_or(|r| is_inside(&f, r)) {
                files.push(f);
            } else {
                not_followed.push(f);
            }
        }
    }
    // A file met twice (given twice, or listed by a DICOMDIR in a folder also given) is
    // de-identified once.
    let mut met = std::collections::HashSet::new();
    files.retain(|f| met.insert(fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok((files, not_followed))
}

/// Whether `path`, with every link in it resolved, is inside `root` (already resolved). A
/// path that cannot be resolved (a broken link) counts as inside: reading it fails, saying so.
pub(crate) fn is_inside(path: &Path, root: &Path) -> bool {
    fs::canonicalize(path).map_or(true, |real| real.starts_with(root))
}

/// The files the DICOMDIR at `path` lists, where they are (a name that differs only in case,
/// or by a CD's `;1` version, is found too; one that is not there is listed all the same:
/// reading it fails, and it is excluded saying why). Nothing when `path` is not a DICOMDIR
/// or cannot be read as one (it is then excluded or skipped in its turn, saying why).
pub(crate) fn dicomdir_listed(path: &Path) -> Vec<PathBuf> {
    const CLASS: &[u8] = crate::deid::DICOMDIR_SOP_CLASS.as_bytes();
    // Only a file whose start names the DICOMDIR class is read whole.
    let mut head = vec![0; 1024];
    let Ok(n) = fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return Vec::new();
    };
    if !head[..n].windows(CLASS.len()).any(|w| w == CLASS) {
        return Vec::new();
    }
    let Ok(Some(listed)) = fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| crate::input::dicomdir_files(&bytes))
    else {
        return Vec::new();
    };
    let base = path.parent().unwrap_or(Path::new("."));
    listed.iter().map(|parts| locate(base, parts)).collect()
}

/// `base` joined with `parts`, each part matched to a name in its folder that differs only in
/// case or by a `;1` version suffix when there is no exact one.
pub(crate) fn locate(base: &Path, parts: &[String]) -> PathBuf {
    let mut at = base.to_path_buf();
    for part in parts {
        let exact = at.join(part);
        if exact.exists() {
            at = exact;
            continue;
        }
        let wanted = part.to_lowercase();
        let found = fs::read_dir(&at).ok().and_then(|entries| {
            entries.filter_map(|e| e.ok()).find_map(|e| {
                let name = e.file_name().to_string_lossy().to_lowercase();
                let name = name
                    .strip_suffix(";1")
                    .unwrap_or(&name)
                    .trim_end_matches('.');
                (name == wanted).then(|| e.path())
            })
        });
        at = found.unwrap_or(exact);
    }
    at
}

/// Every file under `p` (or `p` itself), in name order. A folder is read once, however many
/// links lead to it (a link to a folder above would otherwise go round forever). What cannot
/// be looked at (a broken link, a folder that cannot be listed) is listed as a file all the
/// same: reading it then fails, and it is excluded saying why while the batch goes on.
pub(crate) fn walk(
    p: &Path,
    files: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
) {
    let listed = match fs::metadata(p) {
        Ok(m) if m.is_dir() => match fs::canonicalize(p).map(|real| seen.insert(real)) {
            Ok(false) => return,
            Ok(true) => fs::read_dir(p).ok(),
            Err(_) => None,
        },
        _ => None,
    };
    let Some(listed) = listed else {
        files.push(p.to_path_buf());
        return;
    };
    let mut entries: Vec<PathBuf> = listed.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        walk(&e, files, seen);
    }
}

/// One DICOM candidate: an input file, or one entry of a ZIP archive among the inputs
/// (named `archive!/entry`), read only when its turn comes.
pub(crate) enum Candidate {
    File(PathBuf),
    /// An entry of an archive (one among the inputs, or one inside it, named
    /// `outer.zip!/inner.zip`).
    Entry {
        archive: Arc<Archive>,
        entry: crate::input::ZipEntry,
    },
    /// An archive whose directory could not be read, or what is not a regular file (by its
    /// name), and why.
    Unreadable(String, String),
    /// A link out of the folder the user gave, not followed (by its name), and why.
    NotFollowed(String, String),
}

/// What the first pass reads of a file first: enough for most headers (a CT slice's is a few
/// KB), and no more, since the second pass reads the file again.
pub(crate) const FIRST: u64 = 16 << 10;

/// What the first pass reads of a file at most before it reads it whole: enough for nearly
/// every header.
pub(crate) const HEAD: u64 = 256 << 10;

impl Candidate {
    pub(crate) fn name(&self) -> String {
        match self {
            Candidate::File(p) => p.display().to_string(),
            Candidate::Unreadable(name, _) | Candidate::NotFollowed(name, _) => name.clone(),
            Candidate::Entry { archive, entry } => format!("{}!/{}", archive.name, entry.name),
        }
    }

    /// Its size, for the memory budget of the threads.
    pub(crate) fn weight(&self) -> u64 {
        match self {
            Candidate::File(p) => fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Candidate::Entry { entry, .. } => entry.size(),
            Candidate::Unreadable(..) | Candidate::NotFollowed(..) => 0,
        }
    }

    /// What [`Candidate::read_header`] usually holds in memory, for the budget (at most two
    /// whole files are read at once when a header is larger, still within the bound).
    pub(crate) fn header_weight(&self) -> u64 {
        match self {
            Candidate::File(_) | Candidate::Entry { .. } => self.weight().min(HEAD),
            Candidate::Unreadable(..) | Candidate::NotFollowed(..) => self.weight(),
        }
    }

    /// What the first pass needs: a file's bytes up to its pixel data when its start holds
    /// the whole header (a large image is not read whole just to learn who it is), else all.
    /// With them, about how much memory de-identifying it will take, for the second pass's
    /// budget ([`crate::dicom::header_and_memory`]; twice its size when that cannot be told).
    pub(crate) fn read_header(&self) -> (Result<Vec<u8>, String>, u64) {
        let size = self.weight();
        if let Candidate::Entry { archive, entry } = self {
            // An archive's entry is inflated only as far as its header here; whole once, in
            // the second pass (unless its header goes on past what is read here).
            let (at, len) = entry.head_span(HEAD);
            let head = archive
                .read_at(at, len)
                .map_err(|e| format!("could not be read: {e}"))
                .and_then(|local| {
                    entry
                        .read_head_from(&local, HEAD)
                        .map_err(|e| e.to_string())
                });
            match head {
                Ok(mut head) => {
                    let (header_len, memory) = crate::dicom::header_and_memory(&head, size);
                    if let Some(len) = header_len {
                        head.truncate(len);
                        return (Ok(head), memory);
                    }
                    if head.len() as u64 == size {
                        return (Ok(head), memory);
                    }
                }
                Err(why) => return (Err(why), size.saturating_mul(2)),
            }
        }
        if let Candidate::File(p) = self {
            let unreadable = |e: std::io::Error| {
                (
                    Err(format!("could not be read: {e}")),
                    size.saturating_mul(2),
                )
            };
            let mut head = Vec::new();
            let mut file = match fs::File::open(p) {
                Ok(f) => f,
                Err(e) => return unreadable(e),
            };
            // A few KB first; more only when the header goes on past them.
            for upto in [FIRST, HEAD] {
                let want = upto - head.len() as u64;
                if let Err(e) = (&mut file).take(want).read_to_end(&mut head) {
                    return unreadable(e);
                }
                let (header_len, memory) = crate::dicom::header_and_memory(&head, size);
                if let Some(len) = header_len {
                    head.truncate(len);
                    return (Ok(head), memory);
                }
                if (head.len() as u64) < upto {
                    // The whole file, and no header in it.
                    return (Ok(head), memory);
                }
            }
        }
        let bytes = self.read();
        let memory = match &bytes {
            Ok(b) => crate::dicom::header_and_memory(b, b.len() as u64).1,
            Err(_) => size.saturating_mul(2),
        };
        (bytes, memory)
    }

    /// Its bytes (an archive's entry decompressed), or why they could not be read.
    pub(crate) fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Candidate::File(p) => fs::read(p).map_err(|e| format!("could not be read: {e}")),
            Candidate::Entry { archive, entry } => {
                let (at, len) = entry.span();
                let local = archive
                    .read_at(at, len)
                    .map_err(|e| format!("could not be read: {e}"))?;
                entry.read_from(&local).map_err(|e| e.to_string())
            }
            Candidate::Unreadable(_, why) | Candidate::NotFollowed(_, why) => Err(why.clone()),
        }
    }
}

/// The candidates among the input files: each file, or each entry of a ZIP archive (its
/// directory is read from the end of the file; the entries are read one at a time later).
pub(crate) fn candidates(files: Vec<PathBuf>) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        // A pipe would block the run and a device never end: only regular files are read
        // (what cannot be looked at is read, to say why it fails).
        if fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
            let why = "not a regular file (a device, pipe or socket): left alone".to_string();
            out.push(Candidate::Unreadable(path.display().to_string(), why));
            continue;
        }
        let mut head = [0u8; 4];
        let opened = fs::File::open(&path).and_then(|mut f| f.read_exact(&mut head).map(|_| f));
        let file = match opened {
            Ok(f) if crate::input::is_zip(&head) => f,
            _ => {
                out.push(Candidate::File(path));
                continue;
            }
        };
        let name = path.display().to_string();
        let archive =
            Archive::new(name.clone(), file).map_err(|e| format!("could not be read: {e}"));
        match archive.and_then(|a| Ok((a.entries()?, Arc::new(a)))) {
            Ok((entries, archive)) => {
                for entry in entries {
                    let archive = Arc::clone(&archive);
                    add_entry(
                        Candidate::Entry { archive, entry },
                        crate::input::NESTED_DEPTH,
                        &mut out,
                    );
                }
            }
            Err(why) => out.push(Candidate::Unreadable(name, why)),
        }
    }
    out
}

/// A ZIP archive, read a piece at a time: the directory from its end, then each entry from
/// its own part when its turn comes. One among the inputs, or one that was inside one,
/// unpacked to a temporary file (see [`Archive::unpacked`]).
pub(crate) struct Archive {
    /// Its path, or `outer.zip!/inner.zip`.
    name: String,
    file: fs::File,
    len: u64,
}

impl Archive {
    pub(crate) fn new(name: String, file: fs::File) -> std::io::Result<Archive> {
        let len = file.metadata()?.len();
        Ok(Archive { name, file, len })
    }

    /// An archive found inside another, `bytes`, in a temporary file that has no name any
    /// more (removed as soon as it was made: nothing is left behind, whatever happens).
    pub(crate) fn unpacked(name: String, bytes: &[u8]) -> std::io::Result<Archive> {
        use std::io::Write;
        let dir = std::env::temp_dir();
        let mut n = 0u32;
        let (path, mut file) = loop {
            let path = dir.join(format!("obscura-{}-{n}.zip", std::process::id()));
            let mut options = fs::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let written = file.write_all(bytes);
        let _ = fs::remove_file(&path);
        written?;
        Archive::new(name, file)
    }

    /// Up to `len` bytes from `at` (fewer at its end).
    pub(crate) fn read_at(&self, at: u64, len: u64) -> std::io::Result<Vec<u8>> {
        let at = at.min(self.len);
        let len = len.min(self.len - at);
        let mut out = vec![0; usize::try_from(len).unwrap_or(0)];
        #[cfg(unix)]
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut out, at)?;
        #[cfg(not(unix))]
        {
            use std::io::{Seek, SeekFrom};
            let mut f = &self.file;
            f.seek(SeekFrom::Start(at))?;
            f.read_exact(&mut out)?;
        }
        Ok(out)
    }

    /// The first bytes of `entry`, enough to tell whether it is an archive: from a small read
    /// of its local header and the start of its data, or from all of
    /// [`crate::input::ZipEntry::head_span`] when its name and extra field are long.
    pub(crate) fn entry_start(&self, entry: &crate::input::ZipEntry) -> Result<Vec<u8>, String> {
        const START: u64 = 4;
        let (at, len) = entry.head_span(START);
        let want = usize::try_from(START.min(entry.size())).unwrap_or(0);
        let small = self
            .read_at(at, len.min(4 << 10))
            .map_err(|e| e.to_string())?;
        match entry.read_head_from(&small, START) {
            Ok(start) if start.len() >= want => Ok(start),
            _ => {
                let local = self.read_at(at, len).map_err(|e| e.to_string())?;
                entry
                    .read_head_from(&local, START)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The files inside, from the archive's tail and directory.
    pub(crate) fn entries(&self) -> Result<Vec<crate::input::ZipEntry>, String> {
        let unreadable = |e: std::io::Error| format!("could not be read: {e}");
        let tail_start = self.len.saturating_sub(crate::input::TAIL_LEN);
        let tail = self
            .read_at(tail_start, self.len - tail_start)
            .map_err(unreadable)?;
        let dir = crate::input::locate_directory(&tail, tail_start).map_err(|e| e.to_string())?;
        let listing = self.read_at(dir.offset, dir.len).map_err(unreadable)?;
        let entries =
            crate::input::read_directory(&listing, dir.count).map_err(|e| e.to_string())?;
        Ok(entries.into_iter().filter(|e| e.is_file()).collect())
    }
}

/// Add an archive's entry to the candidates: as it is, or, when it is an archive itself (by
/// its first bytes, whatever its name), the files inside it, opened `depth` levels deep at
/// most ([`crate::input::NESTED_DEPTH`], the page's rule too); one deeper still is left out
/// with [`crate::input::TOO_DEEP`].
pub(crate) fn add_entry(candidate: Candidate, depth: u32, out: &mut Vec<Candidate>) {
    let Candidate::Entry { archive, entry } = &candidate else {
        return out.push(candidate);
    };
    // (An entry that cannot be read stays a candidate: its own turn says why.)
    if !archive
        .entry_start(entry)
        .is_ok_and(|start| crate::input::is_zip(&start))
    {
        return out.push(candidate);
    }
    let name = candidate.name();
    if depth == 0 {
        return out.push(Candidate::Unreadable(name, crate::input::TOO_DEEP.into()));
    }
    let bytes = match candidate.read() {
        Ok(b) => b,
        Err(why) => return out.push(Candidate::Unreadable(name, why)),
    };
    let archive = match Archive::unpacked(name.clone(), &bytes) {
        Ok(a) => a,
        Err(e) => {
            let why = format!("an archive inside the archive, not opened: {e}");
            return out.push(Candidate::Unreadable(name, why));
        }
    };
    drop(bytes);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(why) => return out.push(Candidate::Unreadable(name, why)),
    };
    let archive = Arc::new(archive);
    for entry in entries {
        let archive = Arc::clone(&archive);
        add_entry(Candidate::Entry { archive, entry }, depth - 1, out);
    }
}

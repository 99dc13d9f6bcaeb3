//! `obscura deid` in shards, for a run spread over many processes or machines (driven by the
//! Python package's `--scheduler`, `python/obscura/distributed.py`, or by a Slurm or Kubernetes
//! recipe in docs/ARCHIVE-SCALE.md). The contract that makes the result the same, byte for
//! byte, as one `obscura deid` with the same arguments:
//!
//! 1. [`plan`] (once): the run's candidate files in input order, which every process finds
//!    again from the same arguments (and checks by their fingerprint), and the staging folder
//!    `OUT/.obscura-shards/` with the job's fingerprint (its arguments, key and files).
//! 2. [`scan`] (a map over ranges of the files) and [`gather_scans`] (the reduce, in order):
//!    the first pass, every patient's identifying values; given to every shard.
//! 3. [`deid_shard`] (a map over shards): each shard's files de-identified by a session made
//!    from the arguments and the first pass, written to the staging folder with what was
//!    done to each (no original value but series and instance numbers, and the reasons files
//!    were left out as the command prints them). A shard is done
//!    when its folder is there, moved in whole: a shard run twice (a worker thought dead)
//!    gives one result, and a job started again skips the shards done.
//! 4. [`finish_shards`] (once): the shards' files placed in the order of the inputs by the same
//!    [`Layout`] as one run, then the key images, the package's files and the logs, as
//!    [`super::deid`] does; the staging folder is removed.
//!
//! The first pass is not kept on disk (it holds identifying values): a job started again
//! makes it again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ordered::for_each_ordered;
use super::{
    finish, first_pass, handle, limits_of, open_zip, parse_deid, policy_of, run_candidates,
    second_pass_limits, Args, Candidate, Handled, Output,
};
use crate::deid::{Deidentified, PatientScan, Session, Summary};
use crate::package::Layout;

/// The staging folder of a sharded run, inside its output folder.
pub const STAGING: &str = ".obscura-shards";

/// What one shard's file became, as kept in the staging folder until [`finish_shards`].
#[derive(Serialize, Deserialize)]
enum Staged {
    /// De-identified: the file is `NNNNNNNNN.dcm` (its index among the run's files) beside the
    /// records; here, what was done, with no original value but the series and instance
    /// numbers (for `--only`).
    Done(Box<Deidentified>),
    Skipped(String),
    Excluded(String),
}

/// A shard's records, its `records.json`.
#[derive(Serialize, Deserialize)]
struct Records {
    fingerprint: String,
    start: usize,
    staged: Vec<Staged>,
}

/// The first pass of some files: per patient, and how much memory each file will take.
#[derive(Serialize, Deserialize, Default)]
struct Scans {
    scans: Vec<PatientScan>,
    memory: Vec<u64>,
}

/// A process's run: its arguments' candidates, found once (a process works on many shards).
struct Known {
    flags: Vec<String>,
    args: Args,
    /// Its policy, made once (the text detection model is loaded once per process).
    policy: crate::deid::Policy,
    files: Arc<Vec<Candidate>>,
    fingerprint: String,
}

static KNOWN: Mutex<Option<Arc<Known>>> = Mutex::new(None);

/// The run `flags` (the arguments of `obscura deid`) describes, its files found once per
/// process.
fn known(flags: &[String]) -> Result<Arc<Known>, String> {
    let mut cached = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = cached.as_ref().filter(|k| k.flags == flags) {
        return Ok(Arc::clone(k));
    }
    let args = parse_deid(flags.iter().cloned())?;
    if args.key_file.is_none() {
        return Err(
            "a run in shards needs --key-file: every process must use the same \
                    key, and a job started again the key it began with"
                .into(),
        );
    }
    let files = run_candidates(&args)?;
    let fingerprint = fingerprint(flags, &args, &files)?;
    let k = Arc::new(Known {
        flags: flags.to_vec(),
        policy: policy_of(&args)?,
        args,
        files: Arc::new(files),
        fingerprint,
    });
    *cached = Some(Arc::clone(&k));
    Ok(k)
}

/// What makes two processes' runs the same: the arguments (but the threads and memory of
/// each), the key file's content, and the files with their sizes.
fn fingerprint(flags: &[String], args: &Args, files: &[Candidate]) -> Result<String, String> {
    let mut h = Sha256::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "--jobs" || f == "--memory" {
            it.next();
            continue;
        }
        h.update(f.as_bytes());
        h.update([0]);
    }
    if let Some(p) = &args.key_file {
        h.update(fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    for c in files {
        h.update(c.name().as_bytes());
        h.update(c.weight().to_le_bytes());
    }
    Ok(h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The files `start..end` of shard `n` of a run of `files` files in shards of `shard_files`.
fn shard_range(n: usize, shard_files: usize, files: usize) -> (usize, usize) {
    (n * shard_files, ((n + 1) * shard_files).min(files))
}

fn staging(args: &Args) -> PathBuf {
    args.out.join(STAGING)
}

/// The folder of the shard of files `start..end`: named by its files, not its number, so that
/// a job taken up again with other `--shard-files` redoes only what no shard covered.
fn shard_dir(args: &Args, start: usize, end: usize) -> PathBuf {
    staging(args).join(format!("files-{start:09}-{end:09}"))
}

/// The run `flags` describes, as the process that planned it saw it (`fingerprint`). A
/// process that knew these arguments from an earlier job looks at the files again first.
fn known_as(flags: &[String], fingerprint: &str) -> Result<Arc<Known>, String> {
    let mut k = known(flags)?;
    if k.fingerprint != fingerprint {
        *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
        k = known(flags)?;
    }
    if k.fingerprint != fingerprint {
        return Err(
            "this process does not see the run's files as the first one did \
                    (files changed, or another machine sees other files)"
                .into(),
        );
    }
    Ok(k)
}

/// Start (or take up again) a run in shards: how many files it has, and its fingerprint.
/// The output folder must be new or empty, or hold only the staging folder of this same run.
pub fn plan(flags: &[String]) -> Result<(usize, String), String> {
    let k = known(flags)?;
    let out = &k.args.out;
    let stage = staging(&k.args);
    let mark = stage.join("job.txt");
    match fs::read_to_string(&mark) {
        // This run's, taken up again (even half-finished: finishing again writes the same).
        Ok(text) if text.trim() == k.fingerprint => {}
        Ok(_) => {
            return Err(format!(
                "{}: an unfinished run with other arguments, key or files is here; give \
                 another folder, or that run's arguments",
                out.display()
            ))
        }
        Err(_) => {
            if fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!(
                    "{}: this folder is not empty. Give a new or empty folder for the output, \
                     so that no file of another run is mixed with this one's.",
                    out.display()
                ));
            }
            fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
            fs::write(&mark, &k.fingerprint).map_err(|e| format!("{}: {e}", mark.display()))?;
        }
    }
    Ok((k.files.len(), k.fingerprint.clone()))
}

/// The shards already done, by their files (`start`, `end`).
pub fn done_shards(flags: &[String]) -> Result<Vec<(usize, usize)>, String> {
    let k = known(flags)?;
    let mut done: Vec<(usize, usize)> = fs::read_dir(staging(&k.args))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let (start, end) = name.strip_prefix("files-")?.split_once('-')?;
                    let range = (start.parse().ok()?, end.parse().ok()?);
                    e.path().join("records.json").is_file().then_some(range)
                })
                .collect()
        })
        .unwrap_or_default();
    done.sort_unstable();
    Ok(done)
}

/// The first pass over files `start..end` of the run, as JSON for [`gather_scans`].
pub fn scan(
    flags: &[String],
    fingerprint: &str,
    start: usize,
    end: usize,
) -> Result<String, String> {
    let k = known_as(flags, fingerprint)?;
    let files = k.files.get(start..end).ok_or("no such files in this run")?;
    let scanner = Session::new(k.policy.clone());
    let mut found = Vec::new();
    let mut memory = Vec::with_capacity(files.len());
    let largest = files.iter().map(Candidate::weight).max().unwrap_or(0);
    first_pass(
        &scanner,
        files,
        limits_of(&k.args, largest),
        |scan, estimate| {
            found.extend(scan);
            memory.push(estimate);
        },
    )?;
    let scans = Scans {
        scans: PatientScan::gather(found),
        memory,
    };
    serde_json::to_string(&scans).map_err(|e| e.to_string())
}

/// The first passes of consecutive ranges of files, in order, as one.
pub fn gather_scans(parts: &[String]) -> Result<String, String> {
    let mut all = Scans::default();
    let mut found = Vec::new();
    for p in parts {
        let part: Scans = serde_json::from_str(p).map_err(|e| e.to_string())?;
        found.extend(part.scans);
        all.memory.extend(part.memory);
    }
    all.scans = PatientScan::gather(found);
    serde_json::to_string(&all).map_err(|e| e.to_string())
}

/// The session of a run after its first pass (made once per process and first pass).
fn session_after(k: &Known, scans: &str) -> Result<(Arc<Session>, Arc<Vec<u64>>), String> {
    type Made = (String, Arc<Session>, Arc<Vec<u64>>);
    static MADE: Mutex<Option<Made>> = Mutex::new(None);
    let id = format!("{}:{:x}", k.fingerprint, Sha256::digest(scans.as_bytes()));
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s, m)) = made.as_ref().filter(|(i, ..)| *i == id) {
        return Ok((Arc::clone(s), Arc::clone(m)));
    }
    let scans: Scans = serde_json::from_str(scans).map_err(|e| e.to_string())?;
    if scans.memory.len() != k.files.len() {
        return Err("the first pass is not this run's".into());
    }
    let mut session = Session::new(k.policy.clone());
    scans.scans.iter().for_each(|s| {
        session.add_scan(s);
    });
    let (session, memory) = (Arc::new(session), Arc::new(scans.memory));
    *made = Some((id, Arc::clone(&session), Arc::clone(&memory)));
    Ok((session, memory))
}

/// De-identify shard `shard`, files `start..end` of the run, after the first pass `scans`
/// ([`gather_scans`]). How many files it de-identified. Done once whatever happens: a shard
/// already done is not done again.
pub fn deid_shard(
    flags: &[String],
    fingerprint: &str,
    scans: &str,
    shard: usize,
    start: usize,
    end: usize,
) -> Result<usize, String> {
    let k = known_as(flags, fingerprint)?;
    let files = k.files.get(start..end).ok_or("no such files in this run")?;
    let target = shard_dir(&k.args, start, end);
    if target.join("records.json").is_file() {
        return Ok(0);
    }
    let (session, memory) = session_after(&k, scans)?;
    let memory = &memory[start..end];
    // Written aside, then moved in whole: a shard is either done or not there.
    let part = staging(&k.args).join(format!(
        "part-{shard:06}-{}-{:x}",
        std::process::id(),
        super::random_bytes::<8>().map(u64::from_le_bytes)?
    ));
    fs::create_dir_all(&part).map_err(|e| format!("{}: {e}", part.display()))?;
    let largest = files.iter().map(Candidate::weight).max().unwrap_or(0);
    let limits = second_pass_limits(&k.args, largest, memory);
    let items: Vec<(usize, &Candidate, u64)> = files
        .iter()
        .zip(memory)
        .enumerate()
        .map(|(i, (c, m))| (start + i, c, *m))
        .collect();
    let mut staged = Vec::with_capacity(items.len());
    let mut done = 0;
    let result = for_each_ordered(
        &items,
        limits,
        |(_, _, m)| *m,
        || session.fork(),
        |copy, (i, c, _)| {
            let handled = match c {
                Candidate::NotFollowed(_, why) => Handled::Skipped(why.clone()),
                _ => handle(copy, c.read(), false),
            };
            (*i, handled)
        },
        |(i, handled)| {
            staged.push(match handled {
                Handled::Done(mut d, _) => {
                    let file = part.join(format!("{i:09}.dcm"));
                    fs::write(&file, &d.bytes).map_err(|e| format!("{}: {e}", file.display()))?;
                    d.bytes = Vec::new();
                    d.review = Vec::new();
                    // Nothing identifying at rest: of the values before, only the numbers
                    // `--only` chooses by.
                    d.before = Summary {
                        series_number: std::mem::take(&mut d.before.series_number),
                        instance_number: std::mem::take(&mut d.before.instance_number),
                        ..Summary::default()
                    };
                    done += 1;
                    Staged::Done(d)
                }
                Handled::Skipped(why) => Staged::Skipped(why),
                Handled::Excluded(why) => Staged::Excluded(why),
            });
            Ok(())
        },
    );
    let written = result.and_then(|_| {
        let records = Records {
            fingerprint: k.fingerprint.clone(),
            start,
            staged,
        };
        let json = serde_json::to_vec(&records).map_err(|e| e.to_string())?;
        let file = part.join("records.json");
        fs::write(&file, json).map_err(|e| format!("{}: {e}", file.display()))
    });
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&part);
        return Err(e);
    }
    if fs::rename(&part, &target).is_err() {
        // Done meanwhile by another process (one thought lost): its result stands.
        let _ = fs::remove_dir_all(&part);
        if !target.join("records.json").is_file() {
            return Err(format!("{}: could not be written", target.display()));
        }
    }
    Ok(done)
}

/// End a run in shards once every shard is done: the files placed in the order of the
/// inputs, then the rest of the package as one run makes it. The exit status of `obscura
/// deid` (0: every file de-identified, 1: some excluded).
pub fn finish_shards(
    flags: &[String],
    fingerprint: &str,
    scans: &str,
    shard_files: usize,
) -> Result<u8, String> {
    let k = known_as(flags, fingerprint)?;
    let (session, memory) = session_after(&k, scans)?;
    let args = &k.args;
    let mut layout = Layout::new();
    layout.set_selection(args.only.clone());
    let mut zip = open_zip(args)?;
    let mut output = Output {
        layout: &mut layout,
        zip: zip.as_mut(),
        out: &args.out,
        excluded: 0,
    };
    let shard_files = shard_files.max(1);
    for shard in 0..k.files.len().div_ceil(shard_files) {
        let (start, end) = shard_range(shard, shard_files, k.files.len());
        let dir = shard_dir(args, start, end);
        let file = dir.join("records.json");
        let text = fs::read(&file).map_err(|_| format!("shard {shard} is not done yet"))?;
        let records: Records = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
        if records.fingerprint != k.fingerprint || records.start != start {
            return Err(format!("{}: not this run's shard", dir.display()));
        }
        for (i, staged) in records.staged.into_iter().enumerate() {
            let index = records.start + i;
            let name = k
                .files
                .get(index)
                .ok_or("a shard longer than the run")?
                .name();
            output.take_staged(&name, staged, &dir.join(format!("{index:09}.dcm")))?;
        }
    }
    let excluded = output.excluded;
    // The key images are drawn within a second pass's budget (`--memory`, or one made from
    // the first pass's estimates: the files' sizes are not looked up again here).
    let limits = second_pass_limits(args, 0, &memory);
    let ok = finish(args, &mut layout, zip, excluded, &session, limits)?;
    let stage = staging(args);
    fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    Ok(if ok { 0 } else { 1 })
}

impl Output<'_> {
    /// [`Output::take`] for a file a shard de-identified, from the staging folder (`file`):
    /// moved to its place in the package, or read and also written to the ZIP.
    fn take_staged(&mut self, name: &str, staged: Staged, file: &Path) -> Result<(), String> {
        match staged {
            Staged::Done(d) if !self.layout.choose(&d) => {
                sayln!("left out by your choice (--only): {name}");
            }
            Staged::Done(mut d) => {
                let rel = self.layout.place(&d);
                let to = self.out.join(&rel);
                if self.zip.is_some() {
                    d.bytes = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
                    self.write_dicom(&rel, &d, None)?;
                } else {
                    if let Some(dir) = to.parent() {
                        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    }
                    // (Already there when an earlier finish of this run stopped half-way.)
                    if fs::rename(file, &to).is_err() && !to.is_file() {
                        return Err(format!("{}: could not be moved to {rel}", file.display()));
                    }
                }
            }
            Staged::Skipped(why) => self.take(name, Handled::Skipped(why))?,
            Staged::Excluded(why) => self.take(name, Handled::Excluded(why))?,
        }
        Ok(())
    }
}

/// `obscura shard STEP [--shard K] [--shard-files N] [--scans DIR] <deid arguments>`: one step
/// of a run in shards, for a scheduler that runs commands (a Slurm job array, a Kubernetes
/// indexed Job). The first pass goes through files in `--scans DIR`, which hold identifying
/// values: a private folder apart from the output, emptied by `finish`.
pub(super) fn command(mut it: impl Iterator<Item = String>) -> Result<u8, String> {
    let step = it.next().unwrap_or_default();
    let (mut shard, mut shard_files, mut scans_dir) = (None, 500usize, None);
    let mut flags = Vec::new();
    while let Some(a) = it.next() {
        let mut number = |name: &str| {
            let v = it.next().unwrap_or_default();
            v.parse::<usize>()
                .map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        match a.as_str() {
            "--shard" => shard = Some(number("--shard")?),
            "--shard-files" => shard_files = number("--shard-files")?.max(1),
            "--scans" => scans_dir = it.next().map(PathBuf::from),
            _ => flags.push(a),
        }
    }
    let k = known(&flags)?;
    let shards = k.files.len().div_ceil(shard_files);
    if step == "plan" {
        plan(&flags)?;
        tell!(
            "{} files in {shards} shards of up to {shard_files}; run `scan` for each shard, \
             then `gather`, `deid` for each shard, and `finish`",
            k.files.len()
        );
        sayln!("{shards}");
        return Ok(0);
    }
    let stage_mark = staging(&k.args).join("job.txt");
    let planned = fs::read_to_string(&stage_mark)
        .map_err(|_| "run `obscura shard plan` with the same arguments first".to_string())?;
    let k = known_as(&flags, planned.trim())?;
    let dir = scans_dir.ok_or("--scans DIR is required (a private folder for the first pass)")?;
    if fs::canonicalize(&dir)
        .ok()
        .zip(fs::canonicalize(&k.args.out).ok())
        .is_some_and(|(d, o)| d.starts_with(o))
    {
        return Err(
            "--scans: the first pass holds identifying values: keep it out of --out".into(),
        );
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let first_pass = dir.join("first-pass.json");
    let which = || match shard {
        Some(n) if n < shards => Ok(n),
        Some(n) => Err(format!(
            "--shard {n}: this run has {shards} shards (0 to {})",
            shards - 1
        )),
        None => Err("--shard K is required for this step".to_string()),
    };
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    match step.as_str() {
        "scan" => {
            let n = which()?;
            let (start, end) = shard_range(n, shard_files, k.files.len());
            let json = scan(&flags, &k.fingerprint, start, end)?;
            let file = dir.join(format!("scan-{n:06}.json"));
            let part = dir.join(format!("scan-{n:06}.json.part-{}", std::process::id()));
            fs::write(&part, json).map_err(|e| format!("{}: {e}", part.display()))?;
            fs::rename(&part, &file).map_err(|e| format!("{}: {e}", file.display()))?;
            Ok(0)
        }
        "gather" => {
            let parts = (0..shards)
                .map(|n| read(&dir.join(format!("scan-{n:06}.json"))))
                .collect::<Result<Vec<_>, _>>()?;
            fs::write(&first_pass, gather_scans(&parts)?)
                .map_err(|e| format!("{}: {e}", first_pass.display()))?;
            Ok(0)
        }
        "deid" => {
            let n = which()?;
            let (start, end) = shard_range(n, shard_files, k.files.len());
            let done = deid_shard(&flags, &k.fingerprint, &read(&first_pass)?, n, start, end)?;
            tell!("shard {n}: {done} files de-identified");
            Ok(0)
        }
        "finish" => {
            let status = finish_shards(&flags, &k.fingerprint, &read(&first_pass)?, shard_files)?;
            // The first pass is no longer needed: what identifies is not left behind.
            for n in 0..shards {
                let _ = fs::remove_file(dir.join(format!("scan-{n:06}.json")));
            }
            let _ = fs::remove_file(&first_pass);
            let _ = fs::remove_dir(&dir);
            Ok(status)
        }
        other => Err(format!(
            "obscura shard: {other:?} is not a step (plan, scan, gather, deid, finish)"
        )),
    }
}

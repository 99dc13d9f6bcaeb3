//! The `obscura` command (native only): batch de-identification with the same core as the
//! page. The `obscura` binary (`src/bin/obscura`) and the Python package (`python -m obscura`,
//! [`crate::python`]) both run [`main`], so the same arguments give the same output.
//!
//! Here: the arguments, the run's two passes over its inputs (found by [`inputs`], worked on
//! by a pool of threads in input order within a memory budget: [`ordered`]), writing the
//! folder and the ZIP, and printing. Reading, de-identifying and packaging are the other
//! modules'.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::deid::{Outcome, Policy, ProjectKey, Session, TextDetector};
use crate::package::{Compressed, Layout, MadeBy, PackageOutput, ZipStream};
use crate::profile::{OptionSet, ProfileOption, PRESETS};

mod ordered;

use ordered::{for_each_ordered, Limits};

/// Write to standard output, ignoring a reader that went away (a closed pipe, as with
/// `| head`): `print!`/`println!` would panic there, and a run must not stop half-way for it.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! sayln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
/// The same for standard error (progress and errors).
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod inputs;

use inputs::{candidates, collect_files, Candidate};

pub mod shards;

const USAGE: &str = "\
obscura: de-identify DICOM files (DICOM PS3.15 Basic Application Level Confidentiality Profile)

USAGE:
  obscura deid <INPUT>... --out <DIR> [OPTIONS]   de-identify files and folders (recursive;
                                                  a DICOMDIR brings the files it lists)
  obscura options                                 list the profile options and presets
  obscura sample <DIR> [--canaries FILE]          write the fake sample study to DIR (and the
                                                  fake PHI strings it holds to FILE)
  obscura sample <DIR> --ct-slices N              write a fake 512×512 CT series of N slices
                                                  (for benchmarks)
  obscura sample <DIR> --noisy-ct-slices N        the same with a scanner's noise (deflates
                                                  about 1.4:1, near what real CT does)

OPTIONS for deid:
  --out DIR            where the de-identified files, manifest and change log go
  --option NAME        turn on a profile option (repeatable; see `obscura options`)
  --preset NAME        turn on a preset's options (see `obscura options`)
  --key-file FILE      project key: 64 hex digits (see `obscura new-key`), or a passphrase
                       on the first line and the project's random salt on a second line
                       `salt: <32 hex digits>`. The same key gives the same new UIDs and
                       pseudonyms every time; anyone with it can trace them back, so keep
                       it like a password. Without it a random key is used (results
                       unlinkable to other runs).
  --pseudonyms CSV     original Patient ID,pseudonym per line
  --action GGGG,EEEE=A override the profile for one attribute: A is X (remove), Z (empty),
                       D (dummy), K (keep), C (clean) or U (new UID); repeatable
  --date-offset DAYS   shift every date by DAYS (with --option retain-modified-dates)
  --regions FILE       rules of regions of burned-in text to blank, per kind of image: JSON
                       (modality, manufacturer, model, rows, columns → rectangles) or an RSNA
                       CTP DicomPixelAnonymizer script; see docs/GUIDE.md. JPEG Baseline and
                       Extended are blanked inside the JPEG data (whole 8×8 blocks); other
                       compressed images are decoded and stored as RLE Lossless. An image a
                       rule matches whose pixels cannot be decoded is excluded.
  --no-detect-text     do not look for burned-in text automatically. By default it is
                       looked for in every frame of images that say they carry text (Burned
                       In Annotation = YES) or are US, SC, XA, RF, ES, XC, GM, OT, OP, IO,
                       PX, DOC or BMD, or a slide's label or overview (SM), with a
                       learned text detector, and what is found is blanked; the log says so.
                       Detection can miss text: look at such images.
  --text-model FILE    the text detection model (default: www/models/text-detect.onnx beside
                       the program's build, or $OBSCURA_TEXT_MODEL). Only the expected file
                       is accepted (its SHA-256 is checked)
  --keep-annotations   read the boxes of text found (with the recognition model beside the
                       detection model: text-read.onnx and text-read-keys.txt, checked the
                       same way) and leave visible those whose whole text is a
                       non-identifying annotation: laterality (L, R, LT, RT), a view or
                       plane (TRANS, SAG, CC, MLO), a scale or unit (5 cm, 4.0MHz), a probe
                       (C5-1, L12-3). What was read is never written anywhere; the log
                       counts the boxes kept
  --notes FILE         teaching notes (plain text) for case.html in the package
  --only SPEC          put only these series and images in the package, by Series Number
                       and Instance Number: `2;3:1-10,12` is all of series 2 and images
                       1-10 and 12 of series 3 (the rest is counted as left out by choice);
                       a series may also be named by its new Series Instance UID, as
                       manifest.json lists it, when two studies both have a series 2
  --no-key-images      do not add images/ (the middle image of each series as PNG, and an
                       animated GIF of each multi-frame one)
  --follow-links       also read files that links (or a DICOMDIR) lead to outside the
                       folder given; by default they are skipped, saying so
  --accept-burned-in   include files that say text is burned into their pixels (Burned In
                       Annotation = YES), videos, and images of kinds that carry text
                       whose frames could not be read to look for it; they are excluded
                       otherwise. Check them yourself.
  --include-documents  include files holding a document (PDF or CDA report, 3D model), with
                       the document replaced by a placeholder; they are excluded otherwise
  --jobs N             files de-identified at once (default: one per core). The output is
                       the same whatever N: files are written in the order of the inputs.
  --memory MIB         memory for the files in flight across the threads (default: three
                       times the largest file, and 32 MiB). A file counts for its size
                       when uncompressed pixel data ends it (in little endian), twice
                       its size otherwise, a deflated one for what it inflates to; one
                       larger than this is worked on alone. Peak memory stays within three
                       times the largest file and 64 MiB by default
  --log FILE.json      also write the change log (tags and actions, no values) to FILE
  --zip FILE           also write the package as one ZIP file
  --zip-password-file FILE
                       encrypt the ZIP with the password on the first line of FILE (8
                       characters or more): AES-256 as WinZip does it, which 7-Zip, WinZip,
                       PeaZip and Keka open (Windows' and macOS's built-in ZIP tools do not)
  --export-log FILE    append one line (JSON) about the ZIP to FILE: when, preset and
                       options, how many patients, studies and files, encrypted or not, its
                       size and SHA-256. No patient data: a log of what left the machine
  --reid-key FILE      write the re-identification key (original ID → pseudonym) to FILE,
                       sealed with the passphrase on the first line of --reid-passphrase-file.
                       It links the output back to patients: keep it apart from the package.
  --reid-passphrase-file FILE
                       passphrase (8 characters or more) for --reid-key

  obscura shard <STEP> [--shard K] [--shard-files N] [--scans DIR] <deid arguments>
                       one step of a run spread over many processes or machines (a Slurm
                       job array, a Kubernetes indexed Job): plan, then scan for each
                       shard K, gather, deid for each shard K, finish; the result is what
                       `obscura deid` with the same arguments writes. --key-file is
                       required; --scans is a private folder for the first pass (it holds
                       identifying values; finish empties it). See docs/ARCHIVE-SCALE.md

  obscura reid-open <FILE> --passphrase-file FILE  print a sealed re-identification key as CSV
  obscura new-key <FILE>   write a new random project key to FILE (for --key-file)

EXIT STATUS: 0 when every file was de-identified, 1 when any was excluded, 2 on usage errors.
";

struct Args {
    inputs: Vec<PathBuf>,
    out: PathBuf,
    options: Vec<ProfileOption>,
    key_file: Option<PathBuf>,
    pseudonyms: Option<PathBuf>,
    date_offset: Option<i32>,
    log: Option<PathBuf>,
    zip: Option<PathBuf>,
    /// The package password's file (`--zip-password-file`).
    zip_password: Option<PathBuf>,
    export_log: Option<PathBuf>,
    /// The last preset given (for the export log).
    preset: Option<String>,
    reid_key: Option<PathBuf>,
    reid_passphrase: Option<PathBuf>,
    overrides: Vec<String>,
    accept_burned_in: bool,
    include_documents: bool,
    hipaa: Option<crate::profile::Hipaa>,
    regions: Option<PathBuf>,
    detect_text: bool,
    text_model: Option<PathBuf>,
    keep_annotations: bool,
    /// Which detector: `learned+bands` (the default: the band detector's boxes too, as it
    /// adds recall in `make bench-detect`), `learned` (alone), or `bands` (the band detector
    /// alone); to compare them in the benchmark, not in the usage.
    text_detector: String,
    no_key_images: bool,
    follow_links: bool,
    notes: Option<PathBuf>,
    /// The series and images to put in the package (`--only`; everything when empty).
    only: crate::package::Selection,
    jobs: usize,
    budget_mib: Option<u64>,
}

/// The arguments of `obscura deid`, checked: inputs and `--out` are required.
fn parse_deid(it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut args, inputs, out) = parse_flags(it)?;
    args.out = out.ok_or("--out DIR is required")?;
    if args.zip.is_none() && (args.zip_password.is_some() || args.export_log.is_some()) {
        return Err(
            "--zip-password-file and --export-log are about the package: give --zip FILE too"
                .into(),
        );
    }
    if args.reid_key.is_some() != args.reid_passphrase.is_some() {
        return Err("--reid-key and --reid-passphrase-file go together".into());
    }
    if inputs.is_empty() {
        return Err("give at least one input file or folder".into());
    }
    args.inputs = inputs;
    Ok(args)
}

/// The flags of `obscura deid` as given, with its inputs and `--out` apart.
#[allow(clippy::type_complexity)]
fn parse_flags(
    mut it: impl Iterator<Item = String>,
) -> Result<(Args, Vec<PathBuf>, Option<PathBuf>), String> {
    let mut inputs = Vec::new();
    let mut out = None;
    let mut options = Vec::new();
    let mut args = Args {
        inputs: Vec::new(),
        out: PathBuf::new(),
        options: Vec::new(),
        key_file: None,
        pseudonyms: None,
        date_offset: None,
        log: None,
        zip: None,
        zip_password: None,
        export_log: None,
        preset: None,
        reid_key: None,
        reid_passphrase: None,
        overrides: Vec::new(),
        accept_burned_in: false,
        include_documents: false,
        hipaa: None,
        regions: None,
        detect_text: true,
        text_model: None,
        keep_annotations: false,
        text_detector: "learned+bands".into(),
        no_key_images: false,
        follow_links: false,
        notes: None,
        only: crate::package::Selection::all(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        budget_mib: None,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--option" => {
                let v = value("--option")?;
                options.push(
                    ProfileOption::from_id(&v)
                        .ok_or_else(|| format!("unknown option {v:?}; see `obscura options`"))?,
                );
            }
            "--preset" => {
                let v = value("--preset")?;
                let p = PRESETS
                    .iter()
                    .find(|p| p.id == v)
                    .ok_or_else(|| format!("unknown preset {v:?}; see `obscura options`"))?;
                options.extend_from_slice(p.options);
                args.hipaa = p.hipaa.or(args.hipaa);
                args.preset = Some(v);
            }
            "--key-file" => args.key_file = Some(PathBuf::from(value("--key-file")?)),
            "--pseudonyms" => args.pseudonyms = Some(PathBuf::from(value("--pseudonyms")?)),
            "--date-offset" => {
                let v = value("--date-offset")?;
                args.date_offset =
                    Some(v.parse().map_err(|_| {
                        format!("--date-offset: {v:?} is not a whole number of days")
                    })?);
            }
            "--action" => args.overrides.push(value("--action")?),
            "--accept-burned-in" => args.accept_burned_in = true,
            "--include-documents" => args.include_documents = true,
            // On by default; the flag is still accepted.
            "--detect-text" => args.detect_text = true,
            "--no-detect-text" => args.detect_text = false,
            "--text-model" => args.text_model = Some(PathBuf::from(value("--text-model")?)),
            "--keep-annotations" => args.keep_annotations = true,
            "--text-detector" => {
                let v = value("--text-detector")?;
                if !matches!(v.as_str(), "learned" | "learned+bands" | "bands") {
                    return Err(format!(
                        "--text-detector: {v:?} is not learned, learned+bands or bands"
                    ));
                }
                args.text_detector = v;
            }
            "--no-key-images" => args.no_key_images = true,
            "--follow-links" => args.follow_links = true,
            "--notes" => args.notes = Some(PathBuf::from(value("--notes")?)),
            "--only" => {
                let v = value("--only")?;
                // (Given more than once: each adds to the choice.)
                let spec = format!("{};{v}", args.only);
                args.only =
                    crate::package::Selection::parse(&spec).map_err(|e| format!("--only: {e}"))?;
            }
            "--jobs" => {
                let v = value("--jobs")?;
                args.jobs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--jobs: {v:?} is not a number of threads"))?;
            }
            "--memory" => {
                let v = value("--memory")?;
                args.budget_mib = Some(
                    v.parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--memory: {v:?} is not a number of MiB"))?,
                );
            }
            "--regions" => args.regions = Some(PathBuf::from(value("--regions")?)),
            "--log" => args.log = Some(PathBuf::from(value("--log")?)),
            "--zip" => args.zip = Some(PathBuf::from(value("--zip")?)),
            "--zip-password-file" => {
                args.zip_password = Some(PathBuf::from(value("--zip-password-file")?))
            }
            "--export-log" => args.export_log = Some(PathBuf::from(value("--export-log")?)),
            "--reid-key" => args.reid_key = Some(PathBuf::from(value("--reid-key")?)),
            "--reid-passphrase-file" => {
                args.reid_passphrase = Some(PathBuf::from(value("--reid-passphrase-file")?))
            }
            s if s.starts_with("--") => return Err(format!("unknown flag {s}")),
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    args.options = options;
    Ok((args, inputs, out))
}

/// A session with the policy `obscura deid` would use under `flags` (its options, without
/// inputs or `--out`): for de-identifying files one at a time as the CLI would, from another
/// program (the Python package). Flags about the output (`--zip`, `--log`…) are refused.
pub fn session_from_flags(flags: impl Iterator<Item = String>) -> Result<Session, String> {
    let (args, inputs, out) = parse_flags(flags)?;
    if let Some(extra) = inputs.first() {
        return Err(format!("{}: not a flag of a session", extra.display()));
    }
    if out.is_some()
        || args.zip.is_some()
        || args.log.is_some()
        || args.reid_key.is_some()
        || args.reid_passphrase.is_some()
        || args.zip_password.is_some()
        || args.export_log.is_some()
        || args.notes.is_some()
    {
        return Err(
            "--out, --zip (and its password and export log), --log, --reid-key and --notes \
                    are about a batch's output, not a session's"
                .into(),
        );
    }
    Ok(Session::new(policy_of(&args)?))
}

fn read_key(path: Option<&Path>) -> Result<ProjectKey, String> {
    match path {
        Some(p) => {
            let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let fresh = crate::deid::Salt::from_bytes(random_bytes::<16>()?);
            ProjectKey::from_key_file(&text, &fresh).map_err(|e| format!("{}: {e}", p.display()))
        }
        None => Ok(ProjectKey::from_bytes(random_bytes::<32>()?)),
    }
}

/// `obscura new-key FILE`: a random project key in a new file only its owner can read.
fn new_key(mut args: impl Iterator<Item = String>) -> Result<u8, String> {
    let (Some(file), None) = (args.next(), args.next()) else {
        return Err("usage: obscura new-key <FILE>".into());
    };
    let key: String = random_bytes::<32>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&file).map_err(|e| format!("{file}: {e}"))?;
    f.write_all(format!("{key}\n").as_bytes())
        .map_err(|e| format!("{file}: {e}"))?;
    say!(
        "{file}: a new project key. Keep it like a password, apart from the packages: with it \
         and the packages, pseudonyms and dates can be traced back to the patients."
    );
    Ok(0)
}

fn read_passphrase(path: &Path) -> Result<String, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

/// A package password: the first line of `path`, as it is (only its line ending goes).
fn read_password(path: &Path) -> Result<String, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

fn now_unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Append `line` to the file at `path` (made when missing).
fn append_line(path: &Path, line: &str) -> Result<(), String> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| format!("no random source: {e}"))?;
    Ok(buf)
}

fn reid_open(mut args: impl Iterator<Item = String>) -> Result<u8, String> {
    let usage = "usage: obscura reid-open <FILE> --passphrase-file FILE";
    let (file, flag, pass) = (args.next(), args.next(), args.next());
    let (Some(file), Some("--passphrase-file"), Some(pass)) = (file, flag.as_deref(), pass) else {
        return Err(usage.into());
    };
    let sealed = fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let csv = crate::deid::reid::open(&sealed, &read_passphrase(Path::new(&pass))?)
        .map_err(|e| e.to_string())?;
    say!("{csv}");
    Ok(0)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write a compressed file's data to `path`, inflating it on the way.
fn write_inflated(path: &Path, c: &Compressed) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut f = std::io::BufWriter::new(
        fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    c.write_data(&mut f)
        .and_then(|_| f.flush())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The memory budget of the threads when `--memory` is not given: three times the largest
/// input file and 32 MiB, what the memory bound allows once the program's own memory (about
/// 16 MiB) is set aside. A file's weight is about what de-identifying it holds (see
/// [`Candidate::read_header`]), so several files are worked on at once when they fit.
fn default_budget(largest: u64) -> u64 {
    largest.saturating_mul(3).saturating_add(32 << 20)
}

/// What became of one candidate file.
enum Handled {
    /// De-identified; with its ZIP entry's data when the package is also a ZIP (compressed in
    /// the thread that cleaned it, so that all cores compress).
    Done(Box<crate::deid::Deidentified>, Option<Compressed>),
    Skipped(String),
    Excluded(String),
}

/// De-identify one candidate with a thread's copy of the session (and compress it for the
/// ZIP, with `zip`).
fn handle(session: &mut Session, bytes: Result<Vec<u8>, String>, zip: bool) -> Handled {
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return Handled::Excluded(e),
    };
    // A bug in a parser must not end the batch: the file is excluded instead.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.process_owned(bytes)
    })) {
        Err(_) => Handled::Excluded("internal error while reading the file".into()),
        Ok(Outcome::Done(d)) => {
            let entry = zip.then(|| Compressed::of_dicom(&d.bytes, &d.transfer_syntax));
            Handled::Done(d, entry)
        }
        Ok(Outcome::Skipped(why)) => Handled::Skipped(why),
        Ok(Outcome::Excluded(e)) => Handled::Excluded(e.to_string()),
    }
}

/// The package as one ZIP file: its entries, written through [`PackageOutput`] (encrypted
/// when a password was given, hashed for the export log).
struct ZipOut {
    file: io::BufWriter<fs::File>,
    zip: ZipStream,
    out: PackageOutput,
}

impl ZipOut {
    /// Write the archive bytes `chunk`.
    fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        let bytes = self.out.push(chunk).map_err(|e| e.to_string())?;
        self.file.write_all(&bytes).map_err(|e| e.to_string())
    }

    /// Write the directory and close the file: what was written.
    fn finish(mut self) -> Result<crate::package::Written, String> {
        let directory = std::mem::take(&mut self.zip).finish();
        self.write(&directory)?;
        let (last, written) = self.out.finish().map_err(|e| e.to_string())?;
        self.file.write_all(&last).map_err(|e| e.to_string())?;
        self.file.flush().map_err(|e| e.to_string())?;
        Ok(written)
    }
}

/// Where the output goes, in the order of the inputs.
struct Output<'a> {
    layout: &'a mut Layout,
    zip: Option<&'a mut ZipOut>,
    out: &'a Path,
    excluded: usize,
}

impl Output<'_> {
    fn exclude(&mut self, name: &str, reason: &str) {
        self.excluded += 1;
        self.layout.exclude(reason);
        sayln!("excluded: {name}: {reason}");
    }

    /// Write one file of the package (to the folder, and to the ZIP when asked).
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), String> {
        write_file(&self.out.join(rel), bytes)?;
        if let Some(z) = self.zip.as_deref_mut() {
            let chunk = z.zip.add(rel, bytes);
            z.write(&chunk)?;
        }
        Ok(())
    }

    /// Write one de-identified file, and its ZIP entry's data (`entry`, made by
    /// [`handle`]; deflated unless its pixels are already compressed: see
    /// [`Compressed::of_dicom`]) when the package is also a ZIP.
    fn write_dicom(
        &mut self,
        rel: &str,
        d: &crate::deid::Deidentified,
        entry: Option<Compressed>,
    ) -> Result<(), String> {
        write_file(&self.out.join(rel), &d.bytes)?;
        if let Some(z) = self.zip.as_deref_mut() {
            let c = entry.unwrap_or_else(|| Compressed::of_dicom(&d.bytes, &d.transfer_syntax));
            let chunk = z.zip.add_compressed(rel, &c);
            z.write(&chunk)?;
        }
        Ok(())
    }

    /// Write one of the package's own files, given compressed (its text may be large).
    fn write_compressed(&mut self, rel: &str, c: &Compressed) -> Result<(), String> {
        write_inflated(&self.out.join(rel), c)?;
        if let Some(z) = self.zip.as_deref_mut() {
            let chunk = z.zip.add_compressed(rel, c);
            z.write(&chunk)?;
        }
        Ok(())
    }

    fn take(&mut self, name: &str, handled: Handled) -> Result<(), String> {
        match handled {
            Handled::Done(d, _) if !self.layout.choose(&d) => {
                sayln!("left out by your choice (--only): {name}");
            }
            Handled::Done(d, entry) => {
                let rel = self.layout.place(&d);
                self.write_dicom(&rel, &d, entry)?;
            }
            Handled::Skipped(why) => {
                self.layout.skip();
                sayln!("skipped: {name}: {why}");
            }
            Handled::Excluded(why) => self.exclude(name, &why),
        }
        Ok(())
    }
}

/// Where the text detection model is looked for when `--text-model` is not given: the
/// environment's `OBSCURA_TEXT_MODEL`, then `www/models/` of the source tree the program was
/// built in (`target/release/obscura`), then beside the program.
fn default_text_model() -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = std::env::var_os("OBSCURA_TEXT_MODEL")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let file = crate::pixels::text_model::MODEL_FILE;
        for up in [
            dir.join("../../www/models"),
            dir.join("../../../www/models"),
            dir.clone(),
        ] {
            places.push(up.join(file));
        }
    }
    places
}

/// The text detector asked for (`learned`, `learned+bands` or `bands`), with the model at
/// `model` or the default place, loaded; or why it is unavailable. With `read`, the
/// recognition model beside it is loaded too, and failing that is an error.
fn text_detector(which: &str, model: Option<&Path>, read: bool) -> Result<TextDetector, String> {
    use crate::pixels::text_model::TextModel;
    use crate::pixels::text_read::{TextReader, KEYS_FILE, READER_FILE};
    if which == "bands" {
        if read {
            return Err("--keep-annotations needs the learned text detector".into());
        }
        return Ok(TextDetector::BandsOnly);
    }
    let places = match model {
        Some(p) => vec![p.to_path_buf()],
        None => default_text_model(),
    };
    let Some(path) = places.iter().find(|p| p.is_file()) else {
        return Ok(TextDetector::Unavailable(format!(
            "the model file was not found (looked for {})",
            places
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let loaded = fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| TextModel::load(&bytes).map_err(|e| e.to_string()));
    let model = match loaded {
        Ok(model) => Arc::new(model),
        Err(why) => {
            return Ok(TextDetector::Unavailable(format!(
                "{}: {why}",
                path.display()
            )))
        }
    };
    let reader = if read {
        let beside = |name: &str| path.parent().unwrap_or(Path::new(".")).join(name);
        let (model_path, keys_path) = (beside(READER_FILE), beside(KEYS_FILE));
        let bytes = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let reader = bytes(&model_path)
            .and_then(|model| {
                TextReader::load(&model, &bytes(&keys_path)?)
                    .map_err(|e| format!("{}: {e}", model_path.display()))
            })
            .map_err(|e| format!("--keep-annotations needs the text recognition model: {e}"))?;
        Some(Arc::new(reader))
    } else {
        None
    };
    Ok(TextDetector::Learned {
        model,
        bands: which == "learned+bands",
        reader,
    })
}

/// The policy of a run with `args`: its key, options, detection, rules and pseudonyms.
fn policy_of(args: &Args) -> Result<Policy, String> {
    let mut policy = Policy::basic(read_key(args.key_file.as_deref())?);
    policy.options = OptionSet::new(args.options.clone())?;
    policy.date_offset_days = args.date_offset;
    policy.accept_burned_in = args.accept_burned_in;
    policy.include_documents = args.include_documents;
    policy.hipaa = args.hipaa;
    policy.detect_text = args.detect_text;
    policy.keep_annotations = args.keep_annotations;
    if args.keep_annotations && !args.detect_text {
        return Err(
            "--keep-annotations keeps some of the text detection finds: it cannot be \
                    used with --no-detect-text"
                .into(),
        );
    }
    if args.detect_text {
        policy.text_detector = text_detector(
            &args.text_detector,
            args.text_model.as_deref(),
            args.keep_annotations,
        )?;
        if let TextDetector::Unavailable(why) = &policy.text_detector {
            tell!(
                "obscura: automatic text detection is unavailable: {why}. Images that need it \
                 are flagged, and left out when they say they carry text (--no-detect-text \
                 turns detection off)."
            );
        }
    }
    if let Some(p) = &args.regions {
        let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        policy.pixel_rules = crate::pixels::RegionRules::parse(&text)
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    for spec in &args.overrides {
        policy.add_override(spec).map_err(|e| e.to_string())?;
    }
    if let Some(p) = &args.pseudonyms {
        let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        policy
            .load_pseudonyms_csv(&text)
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(policy)
}

/// What a run reads, in the order of its inputs: the files under them and the links not
/// followed (each said as skipped).
fn run_candidates(args: &Args) -> Result<Vec<Candidate>, String> {
    let (files, not_followed) = collect_files(&args.inputs, args.follow_links)?;
    let mut files = candidates(files);
    files.extend(not_followed.into_iter().map(|p| {
        Candidate::NotFollowed(
            p.display().to_string(),
            "a link to outside the folder you gave, not followed (--follow-links follows it)"
                .into(),
        )
    }));
    Ok(files)
}

/// The ZIP file of the package, when `--zip` asks for one: made, and encrypted when a
/// password was given.
fn open_zip(args: &Args) -> Result<Option<ZipOut>, String> {
    Ok(match &args.zip {
        Some(p) => Some(ZipOut {
            file: io::BufWriter::new(
                fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
            ),
            zip: ZipStream::new(),
            out: match &args.zip_password {
                Some(file) => PackageOutput::encrypted(&read_password(file)?, random_bytes()?)
                    .map_err(|e| format!("{}: {e}", file.display()))?,
                None => PackageOutput::plain(),
            },
        }),
        None => None,
    })
}

/// The threads and memory budget of a run whose largest file is `largest` bytes.
fn limits_of(args: &Args, largest: u64) -> Limits {
    Limits {
        jobs: args.jobs,
        budget: match args.budget_mib {
            Some(mib) => mib << 20,
            None => default_budget(largest),
        },
    }
}

/// The limits of the second pass over files whose largest is `largest` bytes and whose first
/// pass estimated `memory`: a deflated file counts for what its data set inflates to (half its
/// estimate), so the budget grows with it as with a file that large.
fn second_pass_limits(args: &Args, largest: u64, memory: &[u64]) -> Limits {
    let inflated = memory.iter().map(|m| m / 2).max().unwrap_or(0);
    limits_of(args, largest.max(inflated))
}

/// The first pass over `files`: each one's patient and identifying values read from its
/// header (`None` when it could not be read), and about how much memory de-identifying it will
/// take, given to `sink` in the order of the files.
fn first_pass(
    scanner: &Session,
    files: &[Candidate],
    limits: Limits,
    mut sink: impl FnMut(Option<crate::deid::PatientScan>, u64),
) -> Result<(), String> {
    for_each_ordered(
        files,
        limits,
        Candidate::header_weight,
        || (),
        |_, c| {
            let (head, estimate) = c.read_header();
            (head.ok().and_then(|b| scanner.scan(&b)), estimate)
        },
        |(scan, estimate)| {
            sink(scan, estimate);
            Ok(())
        },
    )
    .map(|_| ())
}

fn deid(args: Args) -> Result<bool, String> {
    // The output is one run's package and nothing else: files of an earlier run left beside
    // it would go wherever it goes (another patient, other options), listed nowhere.
    if fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "{}: this folder is not empty. Give a new or empty folder for the output, so that \
             no file of another run is mixed with this one's.",
            args.out.display()
        ));
    }
    let mut session = Session::new(policy_of(&args)?);
    let files = run_candidates(&args)?;
    let largest = files.iter().map(Candidate::weight).max().unwrap_or(0);
    let limits = limits_of(&args, largest);

    // First pass: every patient's identifying values, so that free text is cleaned of those
    // seen in any file of the batch, and the output does not depend on the order of files.
    let scanner = session.clone();
    let mut memory = Vec::with_capacity(files.len());
    first_pass(&scanner, &files, limits, |scan, estimate| {
        if let Some(s) = &scan {
            session.add_scan(s);
        }
        memory.push(estimate);
    })?;
    let limits = second_pass_limits(&args, largest, &memory);
    // With a ZIP, a file's compressed copy is held too (as large as the file when it does not
    // compress) until it is written.
    let zipping = args.zip.is_some();
    let files: Vec<(Candidate, u64)> = files
        .into_iter()
        .zip(memory)
        .map(|(c, m)| {
            let entry = if zipping { c.weight() } else { 0 };
            (c, m.saturating_add(entry))
        })
        .collect();

    // Second pass: de-identify, each thread with a copy of the session, written in order.
    let mut layout = Layout::new();
    layout.set_selection(args.only.clone());
    let mut zip = open_zip(&args)?;
    let mut output = Output {
        layout: &mut layout,
        zip: zip.as_mut(),
        out: &args.out,
        excluded: 0,
    };
    let copies = for_each_ordered(
        &files,
        limits,
        |(_, memory)| *memory,
        || session.clone(),
        |copy, (c, _)| {
            let handled = match c {
                Candidate::NotFollowed(_, why) => Handled::Skipped(why.clone()),
                _ => handle(copy, c.read(), zipping),
            };
            (c.name(), handled)
        },
        |(name, h)| output.take(&name, h),
    )?;
    copies.into_iter().for_each(|c| session.merge(c));
    let excluded = output.excluded;
    finish(&args, &mut layout, zip, excluded, &session, limits)
}

/// The end of a run, once every file is in the folder in the order of the inputs: the key
/// images, the package's own files, the ZIP's directory, the logs and the re-identification
/// key. Whether no file was excluded.
fn finish(
    args: &Args,
    layout: &mut Layout,
    mut zip: Option<ZipOut>,
    excluded: usize,
    session: &Session,
    limits: Limits,
) -> Result<bool, String> {
    let mut output = Output {
        layout,
        zip: zip.as_mut(),
        out: &args.out,
        excluded,
    };

    if !args.no_key_images {
        // One picture per series (its middle image), from the de-identified file.
        let plan = output.layout.key_image_plan();
        let out = args.out.clone();
        let images = for_each_ordered(
            &plan,
            limits,
            |(_, path)| fs::metadata(out.join(path)).map(|m| m.len()).unwrap_or(0),
            || (),
            |_, (name, path)| {
                // A file Obscura itself wrote, parsed as it is read (no copy of it in memory).
                // A bug in a decoder must not end the batch: that file gets no picture.
                let pictures = std::panic::catch_unwind(|| {
                    dicom_object::open_file(out.join(path))
                        .map_err(|e| e.to_string())
                        .and_then(|f| crate::package::pictures_of(&f))
                })
                .unwrap_or_else(|_| Err("internal error while drawing it".into()));
                (name.clone(), path.clone(), pictures)
            },
            |(name, path, pictures)| {
                match pictures {
                    Ok((png, cine)) => {
                        output.write(&name, &png)?;
                        output.layout.add_key_image(&name, &png);
                        // Multi-frame images also get their cine, as an animated GIF.
                        if let Some(gif) = cine {
                            let name = name.replace(".png", "-cine.gif");
                            output.write(&name, &gif)?;
                            output.layout.add_key_image(&name, &gif);
                        }
                    }
                    Err(e) => tell!("no key image for {path}: {e}"),
                }
                Ok(())
            },
        );
        images?;
    }
    if let Some(p) = &args.notes {
        let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        output.layout.set_notes(&text);
    }
    for (name, c) in output.layout.package_files(session.policy()) {
        output.write_compressed(name, &c)?;
    }
    if let Some(z) = zip {
        let written = z.finish()?;
        if let Some(log) = &args.export_log {
            let line = layout.export_log_line(
                session.policy(),
                args.preset.as_deref(),
                MadeBy::Cli,
                now_unix_seconds(),
                &written,
            );
            append_line(log, &line)?;
        }
    }
    if let Some(p) = &args.log {
        write_inflated(p, &layout.changes_json())?;
    }
    if let (Some(p), Some(pass)) = (&args.reid_key, &args.reid_passphrase) {
        let csv = crate::deid::reidentification_csv(session);
        let sealed = crate::deid::reid::seal(&csv, &read_passphrase(pass)?, &random_bytes::<28>()?)
            .map_err(|e| e.to_string())?;
        write_file(p, sealed.as_bytes())?;
    }
    tell!(
        "{} files de-identified, {} excluded → {}",
        layout.len(),
        excluded,
        args.out.display()
    );
    Ok(excluded == 0)
}

fn options() {
    sayln!("{}\n", crate::profile::PROFILE_NAME);
    sayln!("Profile options (obscura deid --option NAME):\n");
    for o in ProfileOption::ALL {
        sayln!(
            "  {:<32} {}\n  {:<32} {}\n",
            o.id(),
            o.code_meaning(),
            "",
            o.explanation()
        );
    }
    sayln!("Presets (obscura deid --preset NAME):\n");
    for p in PRESETS {
        let opts: Vec<&str> = p.options.iter().map(|o| o.id()).collect();
        sayln!(
            "  {:<32} {}: {}\n  {:<32} options: {}\n",
            p.id,
            p.label,
            p.explanation,
            "",
            if opts.is_empty() {
                "none".into()
            } else {
                opts.join(", ")
            }
        );
    }
}

fn sample(dir: &Path) -> Result<(), String> {
    for (name, bytes) in crate::sample::sample_study() {
        write_file(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// Run the command with `args` (without the program's name); its exit status.
pub fn main(mut args: impl Iterator<Item = String>) -> u8 {
    let result = match args.next().as_deref() {
        Some("deid") => parse_deid(args)
            .and_then(deid)
            .map(|ok| if ok { 0 } else { 1 }),
        Some("reid-open") => reid_open(args),
        Some("shard") => shards::command(args),
        Some("new-key") => new_key(args),
        Some("options") => {
            options();
            Ok(0)
        }
        Some("sample") => match (args.next(), args.next().as_deref(), args.next()) {
            (Some(dir), None, None) => sample(Path::new(&dir)).map(|_| 0),
            (Some(dir), Some(flag @ ("--ct-slices" | "--noisy-ct-slices")), Some(n)) => n
                .parse::<u32>()
                .map_err(|_| format!("{flag}: {n:?} is not a number"))
                .and_then(|slices| {
                    crate::sample::ct_series(slices, 512, flag == "--noisy-ct-slices").try_for_each(
                        |(name, bytes)| write_file(&Path::new(&dir).join(name), &bytes),
                    )
                })
                .map(|_| 0),
            (Some(dir), Some("--canaries"), Some(file)) => sample(Path::new(&dir))
                .and_then(|_| {
                    write_file(
                        Path::new(&file),
                        crate::sample::CANARIES.join("\n").as_bytes(),
                    )
                })
                .map(|_| 0),
            _ => Err("usage: obscura sample <DIR> [--canaries FILE]".into()),
        },
        Some("-h" | "--help" | "help") => {
            say!("{USAGE}");
            Ok(0)
        }
        _ => Err("expected a command".into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tell!("obscura: {e}\n\n{USAGE}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn a_session_takes_the_policy_flags_of_deid_and_refuses_the_output_ones() {
        let session = session_from_flags(flags(&[
            "--preset",
            "hipaa-safe-harbor",
            "--option",
            "retain-uids",
            "--no-detect-text",
        ]))
        .unwrap();
        assert!(session.policy().options.contains(ProfileOption::RetainUids));
        assert!(session.policy().hipaa.is_some());
        assert!(!session.policy().detect_text);
        for refused in [
            &["--out", "x"][..],
            &["--zip", "x.zip"],
            &["--log", "x.json"],
            &["some/input.dcm"],
        ] {
            assert!(session_from_flags(flags(refused)).is_err(), "{refused:?}");
        }
        let wrong = session_from_flags(flags(&["--option", "no-such-option"])).unwrap_err();
        assert!(wrong.contains("no-such-option"), "{wrong}");
    }
}

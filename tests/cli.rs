//! The `obscura` command as batch users and scripts see it.
#![cfg(not(target_arch = "wasm32"))]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn obscura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_obscura"))
}

/// `obscura deid INPUT --out OUT` and then `more` (options and their values), run to its end.
fn deid(input: &Path, out: &Path, more: &[&dyn AsRef<OsStr>]) -> Output {
    obscura()
        .arg("deid")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(more.iter().map(|a| a.as_ref()))
        .output()
        .expect("runs")
}

/// A test's own folder under the system's temporary folder, removed when the test ends
/// (pass or fail: a failing test's files are not worth the disk they fill on CI).
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tempdir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("obscura-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// The fake sample study, written by `obscura sample` into `dir/in`.
fn sample_input(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    assert!(obscura()
        .arg("sample")
        .arg(&input)
        .status()
        .expect("runs")
        .success());
    input
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn a_folder_with_a_broken_file_exits_1_and_names_the_file() {
    let dir = tempdir("batch");
    let input = sample_input(&dir);
    fs::create_dir_all(input.join("nested")).expect("mkdir");
    fs::write(input.join("nested/notes.txt"), "not dicom").expect("write");
    let out = dir.join("out");
    let result = deid(&input, &out, &[]);
    assert_eq!(result.status.code(), Some(1), "one file was excluded");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let excluded: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("excluded:"))
        .collect();
    assert_eq!(excluded.len(), 1, "{stdout}");
    assert!(
        excluded[0].contains("notes.txt") && excluded[0].contains("not a DICOM file"),
        "{stdout}"
    );

    let written = files_under(&out.join("DICOM"));
    assert_eq!(written.len(), 6);
    for f in &written {
        let bytes = fs::read(f).expect("read");
        for canary in obscura::sample::CANARIES {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} in {}",
                f.display()
            );
        }
    }
    for report in ["manifest.json", "changes.json", "CHANGES.txt"] {
        let text = fs::read_to_string(out.join(report)).expect("report written");
        for canary in obscura::sample::CANARIES {
            assert!(!text.contains(canary), "{canary} in {report}");
        }
        assert!(
            !text.contains("notes.txt"),
            "original file names stay out of {report}"
        );
    }
}

#[test]
fn links_that_go_round_or_nowhere_and_pipes_do_not_stop_the_batch() {
    let dir = tempdir("links");
    let input = sample_input(&dir);
    // A link to the folder above (followed once, not forever), a link to the same study
    // (its files are read once), and a link to nothing.
    std::os::unix::fs::symlink("..", input.join("up")).expect("link");
    std::os::unix::fs::symlink(&input, input.join("again")).expect("link");
    std::os::unix::fs::symlink("nowhere", input.join("gone")).expect("link");
    // A pipe, which would block the run if it were opened.
    assert!(Command::new("mkfifo")
        .arg(input.join("pipe"))
        .status()
        .expect("mkfifo")
        .success());
    let out = dir.join("out");
    let result = deid(&input, &out, &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(1), "{stdout}");
    let excluded: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("excluded:"))
        .collect();
    assert_eq!(excluded.len(), 2, "{stdout}");
    assert!(
        excluded[0].contains("gone") && excluded[0].contains("could not be read"),
        "{stdout}"
    );
    assert!(
        excluded[1].contains("pipe") && excluded[1].contains("not a regular file"),
        "{stdout}"
    );
    assert_eq!(files_under(&out.join("DICOM")).len(), 6, "{stdout}");
}

#[test]
fn a_folder_that_is_not_empty_is_not_written_into() {
    let dir = tempdir("not-empty");
    let input = sample_input(&dir);
    let out = dir.join("out");
    fs::create_dir_all(&out).expect("mkdir");
    fs::write(out.join("IM000099"), "from another run").expect("write");
    let result = deid(&input, &out, &[]);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("not empty"));
    assert_eq!(
        fs::read_dir(&out).expect("listed").count(),
        1,
        "nothing written"
    );
    // An empty one is fine.
    fs::remove_file(out.join("IM000099")).expect("rm");
    assert_eq!(deid(&input, &out, &[]).status.code(), Some(0));
}

#[test]
fn a_clean_batch_exits_0_and_the_same_key_file_gives_the_same_output() {
    let dir = tempdir("key");
    let input = sample_input(&dir);
    fs::write(
        dir.join("key.txt"),
        "correct horse battery staple\nsalt: 00112233445566778899aabbccddeeff\n",
    )
    .expect("write");
    let run = |out: &str| {
        let (key, zip) = (dir.join("key.txt"), dir.join(format!("{out}.zip")));
        let more: [&dyn AsRef<OsStr>; 6] = [
            &"--key-file",
            &key,
            &"--option",
            &"retain-modified-dates",
            &"--zip",
            &zip,
        ];
        deid(&input, &dir.join(out), &more).status
    };
    assert_eq!(run("a").code(), Some(0));
    assert_eq!(run("b").code(), Some(0));
    let a = files_under(&dir.join("a/DICOM"));
    let b = files_under(&dir.join("b/DICOM"));
    assert_eq!(a.len(), 6);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            fs::read(x).ok(),
            fs::read(y).ok(),
            "{} differs between runs",
            x.display()
        );
    }
    assert_eq!(
        fs::read(dir.join("a.zip")).ok(),
        fs::read(dir.join("b.zip")).ok(),
        "packages are reproducible"
    );
}

#[test]
fn a_passphrase_needs_the_projects_random_salt_and_new_key_makes_a_key() {
    // A passphrase with a fixed, public salt could be guessed from a package alone by
    // enumerating patient IDs against its pseudonyms (issue 27, item 16).
    let dir = tempdir("salt");
    let input = sample_input(&dir);
    fs::write(dir.join("bare.txt"), "correct horse battery staple\n").expect("write");
    let bare = deid(
        &input,
        &dir.join("bare"),
        &[&"--key-file", &dir.join("bare.txt")],
    );
    assert_eq!(bare.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bare.stderr);
    assert!(
        said.contains("random salt") && said.contains("salt: "),
        "{said}"
    );
    assert!(!dir.join("bare/DICOM").exists(), "nothing is written");

    let salted = |salt: &str, out: &str| {
        let key = dir.join(format!("{out}.txt"));
        fs::write(
            &key,
            format!("correct horse battery staple\nsalt: {salt}\n"),
        )
        .expect("write");
        assert_eq!(
            deid(&input, &dir.join(out), &[&"--key-file", &key])
                .status
                .code(),
            Some(0)
        );
        files_under(&dir.join(out).join("DICOM"))
            .iter()
            .map(|f| fs::read(f).expect("read"))
            .collect::<Vec<_>>()
    };
    let a = salted("00112233445566778899aabbccddeeff", "a");
    let b = salted("ffeeddccbbaa99887766554433221100", "b");
    assert_ne!(
        a, b,
        "the same passphrase in another project gives other results"
    );

    let key = dir.join("project.key");
    let made = obscura().arg("new-key").arg(&key).output().expect("runs");
    assert_eq!(made.status.code(), Some(0));
    let text = fs::read_to_string(&key).expect("key file");
    assert!(text.trim().len() == 64 && text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&key).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner can read it");
    }
    let again = obscura().arg("new-key").arg(&key).output().expect("runs");
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing key is never overwritten"
    );
    assert_eq!(fs::read_to_string(&key).expect("key file"), text);
    assert_eq!(
        deid(&input, &dir.join("k"), &[&"--key-file", &key])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn options_are_listed_and_bad_usage_exits_2() {
    let out = obscura().arg("options").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "retain-safe-private",
        "retain-uids",
        "clean-descriptors",
        "retain-modified-dates",
        "teaching",
    ] {
        assert!(text.contains(id), "{id} listed");
    }
    assert!(
        text.contains("Table E.1-1, edition 2026c"),
        "the edition of the standard is named"
    );
    let bad = obscura()
        .args(["deid", "x", "--option", "keep-everything", "--out", "y"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    let both = obscura()
        .args([
            "deid",
            "x",
            "--out",
            "y",
            "--option",
            "retain-full-dates",
            "--option",
            "retain-modified-dates",
        ])
        .output()
        .expect("runs");
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn the_reidentification_key_is_sealed_and_opens_only_with_its_passphrase() {
    let dir = tempdir("reid");
    let input = sample_input(&dir);
    fs::write(dir.join("pass.txt"), "a long test passphrase\n").expect("write");
    fs::write(dir.join("wrong.txt"), "not the passphrase\n").expect("write");
    let result = deid(
        &input,
        &dir.join("out"),
        &[
            &"--reid-key",
            &dir.join("key.json"),
            &"--reid-passphrase-file",
            &dir.join("pass.txt"),
        ],
    );
    assert_eq!(result.status.code(), Some(0));
    let sealed = fs::read_to_string(dir.join("key.json")).expect("key written");
    assert!(
        !sealed.contains("FAKEID0001"),
        "the key file does not show identities"
    );
    let opened = obscura()
        .arg("reid-open")
        .arg(dir.join("key.json"))
        .arg("--passphrase-file")
        .arg(dir.join("pass.txt"))
        .output()
        .expect("runs");
    assert!(opened.status.success());
    let csv = String::from_utf8_lossy(&opened.stdout);
    assert!(
        csv.contains("FAKEID0001,OBSC-") && csv.contains("FAKEID0002,OBSC-"),
        "{csv}"
    );
    let wrong = obscura()
        .arg("reid-open")
        .arg(dir.join("key.json"))
        .arg("--passphrase-file")
        .arg(dir.join("wrong.txt"))
        .output()
        .expect("runs");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&wrong.stdout).contains("FAKEID"));
}

#[test]
fn zip_archives_are_read_entry_by_entry() {
    let dir = tempdir("zip");
    let input = sample_input(&dir);
    // The package writer makes a valid archive of the inputs (plus one broken entry).
    let mut zip = obscura::package::ZipStream::new();
    let mut bytes = Vec::new();
    for f in files_under(&input) {
        let name = format!(
            "study/{}",
            f.file_name().and_then(|n| n.to_str()).unwrap_or("x")
        );
        bytes.extend(zip.add(&name, &fs::read(&f).expect("read")));
    }
    bytes.extend(zip.add("study/notes.txt", b"not dicom"));
    // Archives inside it are opened whatever their names (their files are de-identified like
    // the others), three levels deep; one deeper still is left out, saying why (the page's
    // rule too: tests/js/batch.test.mjs).
    let archive_of = |files: &[(&str, &[u8])]| {
        let mut zip = obscura::package::ZipStream::new();
        let mut bytes = Vec::new();
        for (name, data) in files {
            bytes.extend(zip.add(name, data));
        }
        bytes.extend(zip.finish());
        bytes
    };
    let first = fs::read(&files_under(&input)[0]).expect("read");
    let nested = archive_of(&[
        ("inner/one.dcm", &first),
        ("inner/notes.txt", b"not dicom either"),
    ]);
    bytes.extend(zip.add("study/more.zip", &nested));
    bytes.extend(zip.add("study/more.bin", &nested));
    let level4 = archive_of(&[("four.dcm", &first)]);
    let level3 = archive_of(&[("three.dcm", &first), ("level4.zip", &level4)]);
    let level2 = archive_of(&[("level3.zip", &level3)]);
    bytes.extend(zip.add("study/level1", &archive_of(&[("level2.zip", &level2)])));
    bytes.extend(zip.finish());
    fs::write(dir.join("study.zip"), &bytes).expect("write");
    let out = deid(&dir.join("study.zip"), &dir.join("out"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let too_deep = format!(
        "study.zip!/study/level1!/level2.zip!/level3.zip!/level4.zip: {}",
        obscura::input::TOO_DEEP
    );
    for line in [
        "study.zip!/study/notes.txt: not a DICOM file",
        "study.zip!/study/more.zip!/inner/notes.txt: not a DICOM file",
        "study.zip!/study/more.bin!/inner/notes.txt: not a DICOM file",
        too_deep.as_str(),
    ] {
        assert!(stdout.contains(line), "{line} in {stdout}");
    }
    assert!(!stdout.contains("four.dcm"), "{stdout}");
    // The six files given, one.dcm from each archive inside, and three.dcm.
    assert_eq!(files_under(&dir.join("out/DICOM")).len(), 9);
    // The archive inside was read from a temporary file, gone now.
    let pid_files = fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("obscura-"))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zip"))
        .count();
    assert_eq!(pid_files, 0);
}

#[test]
fn a_ctp_pixel_script_is_read_and_its_regions_blanked() {
    let dir = tempdir("ctp");
    let input = sample_input(&dir);
    // CTP's format: commentary, then `{ condition }` and `(x, y, w, h)` regions.
    let script = dir.join("scrubber.script");
    fs::write(
        &script,
        "*** Sample CT (fake vendor) ***\n{ Modality.equals(\"CT\") * Rows.isLessThan(\"100\") }\n(0, 0, 64, 6)\n",
    )
    .expect("write");
    let out = dir.join("out");
    let result = deid(&input, &out, &[&"--regions", &script]);
    assert_eq!(result.status.code(), Some(0), "{result:?}");
    let log = fs::read_to_string(out.join("CHANGES.txt")).expect("log");
    assert!(log.contains("CTP signature 1"), "{log}");

    let broken = dir.join("broken.script");
    fs::write(&broken, "{ Modality.sounds(\"CT\") }\n(0, 0, 64, 6)\n").expect("write");
    let result = deid(&input, &dir.join("out2"), &[&"--regions", &broken]);
    assert_eq!(result.status.code(), Some(2), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("CTP pixel script") && stderr.contains("unknown method sounds"),
        "{stderr}"
    );
}

#[test]
fn the_output_is_the_same_whatever_the_number_of_threads() {
    let dir = tempdir("jobs");
    let input = dir.join("in");
    for args in [vec!["sample"], vec!["sample", "--ct-slices", "12"]] {
        let target = input.join(args.len().to_string());
        assert!(obscura()
            .args(&args[..1])
            .arg(&target)
            .args(&args[1..])
            .status()
            .expect("runs")
            .success());
    }
    // A ZIP of the sample study and a broken file among the inputs, too.
    let mut zip = obscura::package::ZipStream::new();
    let mut bytes = Vec::new();
    for f in files_under(&input.join("1")) {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        bytes.extend(zip.add(&format!("z/{name}"), &fs::read(&f).expect("read")));
    }
    bytes.extend(zip.finish());
    fs::write(input.join("archive.zip"), &bytes).expect("write");
    fs::write(input.join("broken.dcm"), b"DICM but not really").expect("write");
    fs::write(
        dir.join("key.txt"),
        "correct horse battery staple\nsalt: 00112233445566778899aabbccddeeff\n",
    )
    .expect("write");
    let run = |out: &str, extra: &[&str]| {
        let (key, zip) = (dir.join("key.txt"), dir.join(format!("{out}.zip")));
        let mut more: Vec<&dyn AsRef<OsStr>> = vec![&"--key-file", &key, &"--zip", &zip];
        more.extend(extra.iter().map(|a| a as &dyn AsRef<OsStr>));
        let result = deid(&input, &dir.join(out), &more);
        assert_eq!(result.status.code(), Some(1), "the broken file is excluded");
        String::from_utf8_lossy(&result.stdout).into_owned()
    };
    let one = run("one", &["--jobs", "1"]);
    // Three threads, and a budget so small that large files go alone.
    let three = run("three", &["--jobs", "3", "--memory", "1"]);
    assert_eq!(one, three, "the same files excluded, in the same order");
    // In shards of 5 files (`obscura shard`, as a job array runs it): steps in any order of
    // shards, one shard twice, and the same result.
    let key = dir.join("key.txt");
    let (out, zip, scans) = (
        dir.join("shards"),
        dir.join("shards.zip"),
        dir.join("scans"),
    );
    let step = |name: &str, shard: Option<usize>| {
        let mut c = obscura();
        c.args(["shard", name, "--shard-files", "5", "--scans"])
            .arg(&scans)
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .arg("--key-file")
            .arg(&key)
            .arg("--zip")
            .arg(&zip);
        if let Some(k) = shard {
            c.args(["--shard", &k.to_string()]);
        }
        c.output().expect("runs")
    };
    let plan = step("plan", None);
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let shards: usize = String::from_utf8_lossy(&plan.stdout)
        .trim()
        .parse()
        .expect("shards");
    assert!(shards > 4, "{shards}");
    let early = step("deid", Some(0));
    assert_eq!(early.status.code(), Some(2), "no first pass yet");
    for k in (0..shards).rev() {
        assert!(step("scan", Some(k)).status.success());
    }
    assert!(step("gather", None).status.success());
    for k in [1, 0, 1].into_iter().chain(2..shards) {
        let r = step("deid", Some(k));
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let finish = step("finish", None);
    assert_eq!(finish.status.code(), Some(1), "the broken file is excluded");
    assert_eq!(String::from_utf8_lossy(&finish.stdout), one);
    assert!(
        !scans.exists(),
        "the first pass (identifying values) is not left behind"
    );
    for other in ["three", "shards"] {
        let a = files_under(&dir.join("one"));
        let b = files_under(&dir.join(other));
        assert_eq!(a.len(), b.len(), "{other}");
        assert!(a.len() > 24, "{}", a.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x.strip_prefix(dir.join("one")),
                y.strip_prefix(dir.join(other))
            );
            assert!(
                fs::read(x).ok() == fs::read(y).ok(),
                "{} differs",
                x.display()
            );
        }
        assert!(
            fs::read(dir.join("one.zip")).ok() == fs::read(dir.join(format!("{other}.zip"))).ok(),
            "the packages are the same bytes"
        );
    }
    let no_key = obscura()
        .args(["shard", "plan"])
        .arg(&input)
        .arg("--out")
        .arg(dir.join("no-key"))
        .output()
        .expect("runs");
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("--key-file"));
    let usage = obscura()
        .args(["deid", "x", "--out", "y", "--jobs", "0"])
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn hostile_files_and_archives_are_each_excluded_with_a_reason() {
    let dir = tempdir("hostile");
    let input = dir.join("in");
    fs::create_dir_all(&input).expect("mkdir");
    let sample = obscura::sample::sample_study()[0].1.clone();
    let cases: Vec<_> = common::crafted_cases(&sample)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("truncated"))
        .collect();
    for (i, (_, bytes)) in cases.iter().enumerate() {
        fs::write(input.join(format!("case{i:02}.dcm")), bytes).expect("write");
    }
    // An archive with a name that climbs out of any folder, and a bomb: 64 MiB of zeros
    // that says it holds 1000 bytes.
    let mut zip = obscura::package::ZipStream::new();
    let mut bytes = zip.add("../../evil.dcm", &sample);
    let bomb_at = bytes.len();
    bytes.extend(zip.add("bomb.dcm", &vec![0u8; 64 << 20]));
    let cd_at = bytes.len();
    bytes.extend(zip.finish());
    bytes[bomb_at + 22..bomb_at + 26].copy_from_slice(&1000u32.to_le_bytes());
    let cd = cd_at
        + bytes[cd_at..]
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"PK\x01\x02")
            .nth(1)
            .expect("second directory record")
            .0;
    bytes[cd + 24..cd + 28].copy_from_slice(&1000u32.to_le_bytes());
    fs::write(input.join("archive.zip"), &bytes).expect("write");
    // Eight directory records sharing one stream.
    fs::write(
        input.join("overlap.zip"),
        common::zip_overlapping(&vec![0u8; 1 << 20], 8),
    )
    .expect("write");

    let out = dir.join("out");
    let result = obscura()
        .arg("deid")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    for (i, (name, _)) in cases.iter().enumerate() {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("excluded:") && l.contains(&format!("case{i:02}.dcm")));
        assert!(line.is_some_and(|l| l.len() > 40), "{name}: {stdout}");
    }
    assert!(
        stdout.contains("archive.zip!/bomb.dcm: ZIP entry is corrupt"),
        "the bomb is stopped at its declared size: {stdout}"
    );
    assert_eq!(
        stdout
            .matches("overlap.zip!/a.dcm: ZIP entry refused")
            .count(),
        8,
        "{stdout}"
    );
    assert!(stdout.contains("shares its data with another entry"));
    // The climbing name is only a label: the file lands in the package's own layout.
    let written = files_under(&dir);
    assert!(
        written
            .iter()
            .all(|p| p.starts_with(&input) || p.starts_with(&out)),
        "{written:?}"
    );
    assert!(!written.iter().any(|p| p.to_string_lossy().contains("evil")));
    assert_eq!(files_under(&out.join("DICOM")).len(), 1);
    let log = fs::read_to_string(out.join("CHANGES.txt")).expect("log");
    assert!(log.contains("excluded"), "{log}");
}

#[test]
fn a_header_longer_than_the_first_read_still_gives_its_names_to_the_first_pass() {
    use dicom_core::value::{PrimitiveValue, Value};
    use dicom_core::{DataElement, Tag, VR};
    let dir = tempdir("long-header");
    let input = sample_input(&dir);
    let edit = |name: &str, elements: Vec<DataElement<dicom_object::InMemDicomObject>>| {
        let path = input.join(name);
        let mut file = dicom_object::open_file(&path).expect("sample file");
        for e in elements {
            file.put(e);
        }
        file.write_to_file(&path).expect("written");
    };
    let text =
        |tag, vr, v: &str| DataElement::new(tag, vr, Value::Primitive(PrimitiveValue::from(v)));
    // The first file's description names someone that only the last file of the patient says
    // is the patient, after 40 KB of private data: its header is longer than what the first
    // pass reads of a file at first.
    edit(
        "FAKEDOE_CT_1_1.dcm",
        vec![text(
            Tag(0x0008, 0x103E),
            VR::LO,
            "Series 1 ROEFAKE follow-up",
        )],
    );
    edit(
        "FAKEDOE_CT_2_2.dcm",
        vec![
            text(Tag(0x0009, 0x0010), VR::LO, "OBSCURA TEST"),
            DataElement::new(
                Tag(0x0009, 0x1001),
                VR::OB,
                Value::Primitive(PrimitiveValue::U8(vec![0x55; 40 << 10].into())),
            ),
            text(Tag(0x0010, 0x1001), VR::PN, "ROEFAKE^JANE"),
        ],
    );
    let out = dir.join("out");
    let result = deid(
        &input,
        &out,
        &[&"--option", &"clean-descriptors", &"--jobs", &"1"],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let mut descriptions = Vec::new();
    for p in files_under(&out.join("DICOM")) {
        let file = dicom_object::open_file(&p).expect("output parses");
        if let Ok(e) = file.element(Tag(0x0008, 0x103E)) {
            descriptions.push(e.to_str().expect("text").to_string());
        }
    }
    assert!(
        descriptions.iter().any(|d| d.contains("follow-up")),
        "the description is kept (cleaned): {descriptions:?}"
    );
    assert!(
        !descriptions.iter().any(|d| d.contains("ROEFAKE")),
        "{descriptions:?}"
    );
}

#[test]
fn a_noisy_ct_series_hardly_compresses_and_is_de_identified() {
    let dir = tempdir("noisy");
    let input = dir.join("in");
    assert!(obscura()
        .args(["sample"])
        .arg(&input)
        .args(["--noisy-ct-slices", "2"])
        .status()
        .expect("runs")
        .success());
    let files = files_under(&input);
    assert_eq!(files.len(), 2);
    for f in &files {
        let bytes = fs::read(f).expect("written");
        let packed = obscura::package::Compressed::of(&bytes);
        assert!(
            packed.body.len() * 5 > bytes.len() * 3,
            "{} of {} bytes: the noise makes it hardly compress",
            packed.body.len(),
            bytes.len()
        );
    }
    let out = dir.join("out");
    let result = deid(&input, &out, &[]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(files_under(&out.join("DICOM")).len(), 2);
}

/// Output read by a program that stops reading (`obscura options | head -1`): no panic, the
/// command ends as it would have.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = obscura()
        .arg("options")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // Nobody reads standard output any more: writes to it fail.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn a_dicomdir_given_alone_brings_the_files_it_lists_each_once() {
    let dir = tempdir("dicomdir");
    let input = sample_input(&dir);
    // A disc: a DICOMDIR and the files it lists (the first run's package is one).
    let disc = dir.join("disc");
    let first = deid(&input, &disc, &[&"--no-key-images"]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let listed = files_under(&disc.join("DICOM")).len();
    assert!(listed > 1);

    let out = dir.join("from-dicomdir");
    let result = deid(&disc.join("DICOMDIR"), &out, &[]);
    assert_eq!(result.status.code(), Some(0), "{result:?}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("skipped:") && stdout.contains("DICOMDIR index"),
        "{stdout}"
    );
    assert_eq!(files_under(&out.join("DICOM")).len(), listed, "{stdout}");

    // The DICOMDIR and the folder of the files it lists: each file once.
    let out = dir.join("both");
    let result = obscura()
        .arg("deid")
        .arg(disc.join("DICOMDIR"))
        .arg(disc.join("DICOM"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(result.status.code(), Some(0), "{result:?}");
    assert_eq!(files_under(&out.join("DICOM")).len(), listed);

    // Names in another case than the DICOMDIR's (a disc mounted with lower-case names) are
    // found; a listed file that is missing is excluded, saying so, and the rest go on.
    fs::rename(disc.join("DICOM"), disc.join("dicom")).expect("rename");
    let gone = files_under(&disc.join("dicom"))[0].clone();
    fs::remove_file(&gone).expect("remove");
    let out = dir.join("lower-case");
    let result = deid(&disc.join("DICOMDIR"), &out, &[]);
    assert_eq!(result.status.code(), Some(1), "{result:?}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        files_under(&out.join("DICOM")).len(),
        listed - 1,
        "{stdout}"
    );
    assert!(stdout.contains("excluded:"), "{stdout}");
}

/// A compressed image whose codestream claims 65000 × 65000 pixels (its header says 64 × 64)
/// gets no key image, and the rest of the batch its whole package: manifest, report and a
/// readable ZIP. (Its codestream was once decoded for the key image, 24 s and 4.7 GiB, then a
/// decoder panic ended the run.)
#[test]
fn a_codestream_larger_than_its_header_does_not_end_the_batch() {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let dir = tempdir("huge-codestream");
    let input = sample_input(&dir);
    let sample = obscura::sample::sample_study()[0].1.clone();
    let jpeg = common::jpeg_baseline(&sample, |o| {
        o.put(DataElement::new(
            dicom_dictionary_std::tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.1234567890123"),
        ));
        o.put(DataElement::new(
            dicom_dictionary_std::tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.1234567890124"),
        ));
    });
    fs::write(
        input.join("huge.dcm"),
        common::jpeg_claiming(&jpeg, 0xC0, 65000, 65000),
    )
    .expect("write");
    let out = dir.join("out");
    let zip = dir.join("case.zip");
    let result = deid(&input, &out, &[&"--zip", &zip]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no key image") && stderr.contains("65000×65000"),
        "{stderr}"
    );
    assert!(out.join("manifest.json").exists());
    assert!(out.join("DICOMDIR").exists());
    let zipped = fs::read(&zip).expect("zip");
    assert!(
        zipped.windows(4).any(|w| w == b"PK\x05\x06"),
        "the ZIP ends"
    );
    let key_images = files_under(&out)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .count();
    assert!(key_images >= 1, "the other series keep theirs");
}

/// Links that lead out of the folder the user gave (or out of a DICOMDIR's folder) are not
/// followed: they could bring other patients' files into the package. `--follow-links`
/// follows them.
#[test]
fn links_out_of_the_given_folder_are_not_followed() {
    let dir = tempdir("links-out");
    let input = sample_input(&dir);
    let elsewhere = dir.join("elsewhere");
    fs::create_dir_all(&elsewhere).expect("mkdir");
    let first = files_under(&input)[0].clone();
    fs::rename(&first, elsewhere.join("other-patient.dcm")).expect("move");
    let given = files_under(&input).len();
    std::os::unix::fs::symlink(&elsewhere, input.join("linked")).expect("link");

    let out = dir.join("out");
    let result = deid(&input, &out, &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("other-patient.dcm: a link to outside the folder you gave"),
        "{stdout}"
    );
    assert_eq!(files_under(&out.join("DICOM")).len(), given, "{stdout}");
    let followed = dir.join("followed");
    deid(&input, &followed, &[&"--follow-links"]);
    assert_eq!(files_under(&followed.join("DICOM")).len(), given + 1);

    // A disc whose DICOMDIR lists files in a folder that is a link to somewhere else.
    let disc = dir.join("disc");
    fs::create_dir_all(&disc).expect("mkdir");
    fs::copy(out.join("DICOMDIR"), disc.join("DICOMDIR")).expect("copy");
    std::os::unix::fs::symlink(out.join("DICOM"), disc.join("DICOM")).expect("link");
    let result = deid(&disc.join("DICOMDIR"), &dir.join("from-disc"), &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("a link to outside the folder you gave"),
        "{stdout}"
    );
    assert!(
        !dir.join("from-disc/DICOM").exists()
            || files_under(&dir.join("from-disc/DICOM")).is_empty()
    );
}

/// 7-Zip, as Debian's `7zip` package installs it (`make setup` does).
fn seven_zip(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new("7zz")
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("7zz (Debian's 7zip package, installed by `make setup`) runs")
}

#[test]
fn a_password_protected_package_opens_in_7zip_with_its_password_only() {
    let dir = tempdir("encrypted");
    let input = sample_input(&dir);
    let out = dir.join("out");
    let zip = dir.join("package.zip");
    let password = "pässwörd 日本 horse";
    fs::write(dir.join("pw"), format!("{password}\n")).expect("write");
    let log = dir.join("exports.jsonl");
    let o = deid(
        &input,
        &out,
        &[
            &"--no-detect-text",
            &"--preset",
            &"hipaa-safe-harbor",
            &"--zip",
            &zip,
            &"--zip-password-file",
            &dir.join("pw"),
            &"--export-log",
            &log,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = fs::read(&zip).expect("the package");

    // Every entry is AES-256, and nothing of the files shows in the archive.
    let listing = seven_zip(&[&"l", &"-slt", &format!("-p{password}"), &zip]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    let methods: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("Method = "))
        .collect();
    assert!(methods.len() > 10, "{listing}");
    assert!(
        methods.iter().all(|m| m.starts_with("Method = AES-256")),
        "{methods:?}"
    );
    let plain = fs::read(out.join("manifest.json")).expect("manifest");
    assert!(!bytes
        .windows(40)
        .any(|w| plain.windows(40).next() == Some(w)));

    // The right password gives back the folder's files, byte for byte.
    let x = dir.join("x");
    let ok = seven_zip(&[
        &"x",
        &"-y",
        &format!("-p{password}"),
        &format!("-o{}", x.display()),
        &zip,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let mut compared = 0;
    for entry in files_under(&out) {
        let rel = entry.strip_prefix(&out).expect("under out");
        assert_eq!(
            fs::read(&entry).ok(),
            fs::read(x.join(rel)).ok(),
            "{}",
            rel.display()
        );
        compared += 1;
    }
    assert!(compared > 10);

    // A wrong password opens nothing.
    let bad = seven_zip(&[&"t", &"-pcorrect horse", &zip]);
    assert!(!bad.status.success());
    let said = [bad.stdout, bad.stderr].concat();
    assert!(String::from_utf8_lossy(&said).contains("Wrong password"));

    // The export log: one line, no patient data, the package's size and SHA-256.
    let text = fs::read_to_string(&log).expect("export log");
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
    assert_eq!(line["encrypted"], true);
    assert_eq!(line["made_by"], "cli");
    assert_eq!(line["preset"], "hipaa-safe-harbor");
    assert_eq!(line["hipaa"], "hipaa-safe-harbor");
    assert_eq!(
        (line["patients"].as_u64(), line["files"].as_u64()),
        (Some(2), Some(6))
    );
    assert_eq!(line["bytes"].as_u64(), Some(bytes.len() as u64));
    let sha = Command::new("sha256sum")
        .arg(&zip)
        .output()
        .expect("sha256sum");
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(line["sha256"].as_str(), sha.split_whitespace().next());
    for canary in obscura::sample::CANARIES {
        assert!(!text.contains(canary), "{canary} in the export log");
    }

    // A second package: a second line; a short password is refused before any work.
    let o = deid(
        &input,
        &dir.join("out2"),
        &[
            &"--no-detect-text",
            &"--zip",
            &dir.join("2.zip"),
            &"--export-log",
            &log,
        ],
    );
    assert!(o.status.success());
    let text = fs::read_to_string(&log).expect("export log");
    assert_eq!(text.lines().count(), 2);
    assert!(text
        .lines()
        .nth(1)
        .expect("2nd")
        .contains("\"encrypted\":false"));
    fs::write(dir.join("short"), "1234567\n").expect("write");
    let o = deid(
        &input,
        &dir.join("out3"),
        &[
            &"--zip",
            &dir.join("3.zip"),
            &"--zip-password-file",
            &dir.join("short"),
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 8 characters"));
    let o = deid(&input, &dir.join("out4"), &[&"--export-log", &log]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn keeping_annotations_needs_the_recognition_model_beside_the_detector() {
    let dir = tempdir("keep-annotations");
    let input = sample_input(&dir);
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models");

    // Asked for without detection: refused.
    let out = deid(
        &input,
        &dir.join("a"),
        &[&"--keep-annotations", &"--no-detect-text"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-detect-text"));

    // The detection model alone, without the recogniser beside it: a clear error, no output.
    let lone = dir.join("lone");
    fs::create_dir_all(&lone).expect("dir");
    fs::copy(
        models.join("text-detect.onnx"),
        lone.join("text-detect.onnx"),
    )
    .expect("copied");
    let out = deid(
        &input,
        &dir.join("b"),
        &[
            &"--keep-annotations",
            &"--text-model",
            &lone.join("text-detect.onnx"),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("text recognition model") && err.contains("text-read.onnx"),
        "{err}"
    );
    assert!(!dir.join("b").join("CHANGES.txt").exists());

    // With both: the run goes through.
    let out = deid(
        &input,
        &dir.join("c"),
        &[
            &"--keep-annotations",
            &"--text-model",
            &models.join("text-detect.onnx"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn only_the_series_and_images_chosen_go_into_the_package_and_the_rest_is_counted() {
    let dir = tempdir("only");
    let input = sample_input(&dir);
    // The sample: CT series 1 and 2 (two images each), MR series 1 (two images).
    let out = deid(
        &input,
        &dir.join("out"),
        &[&"--only", &"2", &"--only", &"1:2"],
    );
    assert_eq!(out.status.code(), Some(0), "a choice is not a failure");
    assert_eq!(files_under(&dir.join("out/DICOM")).len(), 4);
    let changes = fs::read_to_string(dir.join("out/CHANGES.txt")).expect("log");
    assert!(
        changes.contains("4 de-identified, 0 excluded, 0 skipped, 2 left out by your choice"),
        "{changes}"
    );
    let report = fs::read_to_string(dir.join("out/deidentification-report.html")).expect("report");
    assert!(report.contains("2 left out by your choice"));
    let manifest = fs::read_to_string(dir.join("out/manifest.json")).expect("manifest");
    assert!(manifest.contains("\"left_out_by_choice\": 2"), "{manifest}");
    // A choice that cannot be read is a usage error that says how to write one.
    let bad = deid(&input, &dir.join("bad"), &[&"--only", &"2:9-3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("from the lower number to the higher"));
}

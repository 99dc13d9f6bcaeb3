//! The Python package's core, `obscura._core` (built by maturin with the `python` feature;
//! `python/obscura/` wraps it): the only module that knows about pyo3. It converts between
//! Python and Rust values and nothing else:
//!
//! - `cli(args)`: the `obscura` command itself ([`crate::cli::main`]), for `python -m obscura`
//!   and `obscura.deid`, so a batch from Python is the CLI's, byte for byte;
//! - `Session(flags)`: files de-identified one at a time under the policy `obscura deid` would
//!   use with the same flags ([`crate::cli::session_from_flags`]), with a first pass
//!   (`scan`).
//!
//! The GIL is released while the core works: threads sharing a session each work on a fork of
//! it ([`Session::fork`]) and give it back, so they run at once and agree on pseudonyms and
//! UIDs.

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::deid::{Outcome, Session};

/// Run the `obscura` command with `args` (without the program's name); its exit status (0:
/// every file de-identified, 1: some excluded, 2: a usage error, said on standard error).
#[pyfunction]
fn cli(py: Python<'_>, args: Vec<String>) -> u8 {
    py.detach(move || crate::cli::main(args.into_iter()))
}

/// What de-identifying one file gave: `(status, code, reason, data, meta)`. `status` is
/// `done` (then `data` is the file and `meta` the JSON of what was done), `excluded` or
/// `skipped` (then `code` and `reason` say why).
type Processed = (String, String, String, Option<Py<PyBytes>>, Option<String>);

/// Files de-identified one at a time, as `obscura deid` would with the same flags.
#[pyclass(name = "Session", module = "obscura._core")]
struct PySession {
    session: Mutex<Session>,
}

impl PySession {
    fn lock(&self) -> MutexGuard<'_, Session> {
        // A panic elsewhere cannot leave the session half-changed: forks are merged whole.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PySession {
    /// A session under `flags`: the options of `obscura deid` (`--option`, `--preset`,
    /// `--key-file`, `--pseudonyms`, `--regions`, `--no-detect-text`…), without inputs or
    /// output. A wrong flag raises ValueError with the CLI's reason.
    #[new]
    fn new(py: Python<'_>, flags: Vec<String>) -> PyResult<PySession> {
        let session = py
            .detach(move || crate::cli::session_from_flags(flags.into_iter()))
            .map_err(PyValueError::new_err)?;
        Ok(PySession {
            session: Mutex::new(session),
        })
    }

    /// First pass over one file (its bytes, or its start up to the pixel data): its
    /// patient's identifying values are recorded, so that free text in every file is cleaned
    /// of them whichever comes first. Whether the file could be read.
    fn scan(&self, py: Python<'_>, data: Vec<u8>) -> bool {
        py.detach(|| {
            let mut session = self.lock();
            let scan = session.scan(&data);
            scan.map(|s| session.add_scan(&s)).is_some()
        })
    }

    /// De-identify one file's bytes (see `Processed`).
    fn deidentify(&self, py: Python<'_>, data: Vec<u8>) -> PyResult<Processed> {
        let mut fork = self.lock().fork();
        let (outcome, fork) = py.detach(move || {
            let outcome = fork.process_owned(data);
            (outcome, fork)
        });
        self.lock().merge(fork);
        Ok(match outcome {
            Outcome::Done(d) => {
                let meta =
                    serde_json::to_string(&*d).map_err(|e| PyValueError::new_err(e.to_string()))?;
                let data = PyBytes::new(py, &d.bytes).unbind();
                (
                    "done".into(),
                    String::new(),
                    String::new(),
                    Some(data),
                    Some(meta),
                )
            }
            Outcome::Skipped(why) => ("skipped".into(), "skipped".into(), why, None, None),
            Outcome::Excluded(e) => (
                "excluded".into(),
                e.code().into(),
                e.to_string(),
                None,
                None,
            ),
        })
    }
}

/// A run of `obscura deid` in shards ([`crate::cli::shards`]), for `obscura.distributed`:
/// each function runs in whichever process the scheduler chooses. `flags` are the arguments
/// of `obscura deid` (inputs, `--out` and options); errors raise ValueError.
mod shards {
    use super::*;
    use crate::cli::shards;

    fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, String> + Send) -> PyResult<T> {
        py.detach(f).map_err(PyValueError::new_err)
    }

    /// Start or take up again the run: `(number of files, fingerprint)`.
    #[pyfunction]
    pub fn job_plan(py: Python<'_>, flags: Vec<String>) -> PyResult<(usize, String)> {
        run(py, || shards::plan(&flags))
    }

    /// The shards already done, by their files: `[(start, end)]`.
    #[pyfunction]
    pub fn job_done(py: Python<'_>, flags: Vec<String>) -> PyResult<Vec<(usize, usize)>> {
        run(py, || shards::done_shards(&flags))
    }

    /// The first pass over files `start..end` (JSON).
    #[pyfunction]
    pub fn job_scan(
        py: Python<'_>,
        flags: Vec<String>,
        fingerprint: String,
        start: usize,
        end: usize,
    ) -> PyResult<String> {
        run(py, || shards::scan(&flags, &fingerprint, start, end))
    }

    /// The first passes of consecutive ranges, in order, as one (JSON).
    #[pyfunction]
    pub fn job_gather(py: Python<'_>, parts: Vec<String>) -> PyResult<String> {
        run(py, || shards::gather_scans(&parts))
    }

    /// De-identify one shard: how many files it de-identified (0 when it was done already).
    #[pyfunction]
    pub fn job_deid(
        py: Python<'_>,
        flags: Vec<String>,
        fingerprint: String,
        scans: String,
        shard: usize,
        start: usize,
        end: usize,
    ) -> PyResult<usize> {
        run(py, || {
            shards::deid_shard(&flags, &fingerprint, &scans, shard, start, end)
        })
    }

    /// Put the shards together as one run's output: its exit status.
    #[pyfunction]
    pub fn job_finish(
        py: Python<'_>,
        flags: Vec<String>,
        fingerprint: String,
        scans: String,
        shard_files: usize,
    ) -> PyResult<u8> {
        run(py, || {
            shards::finish_shards(&flags, &fingerprint, &scans, shard_files)
        })
    }
}

/// The module `obscura._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_class::<PySession>()?;
    m.add_function(wrap_pyfunction!(shards::job_plan, m)?)?;
    m.add_function(wrap_pyfunction!(shards::job_done, m)?)?;
    m.add_function(wrap_pyfunction!(shards::job_scan, m)?)?;
    m.add_function(wrap_pyfunction!(shards::job_gather, m)?)?;
    m.add_function(wrap_pyfunction!(shards::job_deid, m)?)?;
    m.add_function(wrap_pyfunction!(shards::job_finish, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

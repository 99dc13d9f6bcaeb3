//! The export log: one line of JSON per package made, for the accounting a privacy officer
//! keeps of what left the machine (when, with which preset and options, how many patients,
//! studies and files, encrypted or not, and the package's SHA-256). It holds no patient data:
//! counts and settings only, never a name, an ID, a date of the study or a file name.

use serde::Serialize;

use super::encrypt::Written;
use super::Layout;
use crate::deid::Policy;

/// Where the package was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MadeBy {
    Browser,
    Cli,
}

impl Layout {
    /// The export log's line (JSON, no line break) for the package of this layout, made at
    /// `unix_seconds` with `policy` (and the preset the user chose, when one was) and written
    /// as `written` says.
    pub fn export_log_line(
        &self,
        policy: &Policy,
        preset: Option<&str>,
        made_by: MadeBy,
        unix_seconds: i64,
        written: &Written,
    ) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            time: String,
            generator: String,
            made_by: MadeBy,
            profile: &'static str,
            preset: Option<&'a str>,
            options: Vec<&'static str>,
            hipaa: Option<&'static str>,
            patients: usize,
            studies: usize,
            series: usize,
            files: usize,
            left_out: usize,
            encrypted: bool,
            bytes: u64,
            sha256: &'a str,
        }
        let (patients, studies, series) = self.counts();
        let line = Line {
            time: utc_timestamp(unix_seconds),
            generator: format!("Obscura {}", env!("CARGO_PKG_VERSION")),
            made_by,
            profile: crate::profile::PROFILE_NAME,
            // Only a preset Obscura has: the name is the user's choice from a list, never text.
            preset: preset.filter(|p| crate::profile::PRESETS.iter().any(|k| k.id == *p)),
            options: policy.options.iter().map(|o| o.id()).collect(),
            hipaa: policy.hipaa.map(|h| h.id()),
            patients,
            studies,
            series,
            files: self.len(),
            left_out: self.left_out(),
            encrypted: written.encrypted,
            bytes: written.bytes,
            sha256: &written.sha256,
        };
        // A struct of plain values always serializes.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// `2026-12-05T19:04:05Z` for a time in seconds since 1970 (UTC).
pub fn utc_timestamp(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_796_497_445), "2026-12-05T19:04:05Z");
        assert_eq!(utc_timestamp(-1), "1969-12-31T23:59:59Z");
    }
}

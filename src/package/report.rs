//! The package's two readable pages, self-contained (no script, no remote resource; they
//! open offline on any laptop):
//!
//! - `deidentification-report.html`: profile, options, counts, what to check by eye, excluded
//!   files by reason, and per file every attribute and what was done — never an original value.
//! - `case.html`: a one-page case summary for teaching: series with modality and size, key
//!   images (embedded), and the user's own notes.

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use super::Layout;
use crate::deid::Policy;

/// Text made safe to put in HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1c1f24}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{border-bottom:1px solid #d8dbe0;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f4f6}code{font-size:.9em}.warn{color:#8a4b00}figure{display:inline-block;margin:.5rem 1rem .5rem 0}\
figure img{max-width:30rem;max-height:30rem;background:#000;display:block}details{margin:.25rem 0}.notes{white-space:pre-wrap;border-left:3px solid #d8dbe0;padding-left:1rem}";

fn page(title: &str, body: &str) -> String {
    format!("{}{body}{PAGE_END}", page_start(title))
}

/// The start of a page, up to its body's content.
fn page_start(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

/// The end of a page.
pub(super) const PAGE_END: &str = "</body>\n</html>\n";

/// The start of `deidentification-report.html`, up to the files' sections (see
/// [`report_file`]); it ends with [`PAGE_END`].
pub fn report_head(layout: &Layout, policy: &Policy, hipaa_section: &str) -> String {
    let mut b = page_start("De-identification report");
    let _ = writeln!(b, "<h1>De-identification report</h1>");
    let _ = writeln!(
        b,
        "<p>Made by Obscura {} on this computer. Original values are never written here.</p>",
        esc(env!("CARGO_PKG_VERSION"))
    );
    let _ = writeln!(b, "<table><tbody>");
    let _ = writeln!(
        b,
        "<tr><th>Profile</th><td>{}</td></tr>",
        esc(crate::profile::PROFILE_NAME)
    );
    let options: Vec<String> = policy
        .options
        .iter()
        .map(|o| esc(o.code_meaning()))
        .collect();
    let _ = writeln!(
        b,
        "<tr><th>Options</th><td>{}</td></tr>",
        if options.is_empty() {
            "none (the Basic Profile alone)".to_string()
        } else {
            options.join("<br>")
        }
    );
    if let Some(method) = policy.hipaa {
        let _ = writeln!(
            b,
            "<tr><th>Method</th><td>{}</td></tr>",
            esc(method.method())
        );
    }
    let _ = writeln!(
        b,
        "<tr><th>Files</th><td>{} de-identified, {} excluded, {} skipped</td></tr>",
        layout.files.len(),
        layout.excluded.values().sum::<usize>(),
        layout.skipped
    );
    let _ = writeln!(b, "</tbody></table>");

    if !layout.excluded.is_empty() {
        let _ = writeln!(b, "<h2>Excluded files</h2><table><thead><tr><th>Reason</th><th>Files</th></tr></thead><tbody>");
        for (reason, n) in &layout.excluded {
            let _ = writeln!(b, "<tr><td>{}</td><td>{n}</td></tr>", esc(reason));
        }
        let _ = writeln!(b, "</tbody></table>");
    }
    let warned = layout.warned_files();
    if warned > 0 {
        let _ = writeln!(
            b,
            "<h2>To check by eye ({})</h2><table><thead><tr><th>File</th><th>Why</th></tr></thead><tbody>",
            super::count_files(warned)
        );
        for (warning, runs) in layout.warning_runs() {
            for run in runs {
                let _ = writeln!(
                    b,
                    "<tr><td><code>{}</code></td><td class=\"warn\">{}</td></tr>",
                    esc(&layout.describe_run(&run)),
                    esc(&warning)
                );
            }
        }
        let _ = writeln!(b, "</tbody></table>");
    }
    b.push_str(hipaa_section);
    let _ = writeln!(
        b,
        "<h2>Per file</h2>\n<p>Files with the same changes are listed together.</p>"
    );
    b
}

/// The section of `deidentification-report.html` for files that had the same changes (each
/// of `files` names one file or a run of them; `count` files in all): every change, folded.
pub fn report_files(files: &[String], count: usize, changes: &[crate::deid::Change]) -> String {
    let mut b = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in changes {
        *counts.entry(c.action.as_ref()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
    let summary = if summary.is_empty() {
        "no change".to_string()
    } else {
        summary.join(", ")
    };
    let first = files.first().map_or("", String::as_str);
    let _ = match files.len() {
        0 | 1 => write!(
            b,
            "<details><summary><code>{}</code>: {}</summary>",
            esc(first),
            esc(&summary)
        ),
        n => write!(
            b,
            "<details><summary><code>{}</code> and {} more ({count} files): {}</summary><p>{}</p>",
            esc(first),
            n - 1,
            esc(&summary),
            files
                .iter()
                .map(|f| format!("<code>{}</code>", esc(f)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(
        b,
        "<table><thead><tr><th>Attribute</th><th>Name</th><th>Action</th><th>Why</th></tr></thead><tbody>"
    );
    for c in changes {
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.path),
            esc(&c.name),
            esc(&c.action),
            esc(&c.reason)
        );
    }
    let _ = writeln!(b, "</tbody></table></details>");
    b
}

/// `case.html`.
pub fn case_html(layout: &Layout) -> String {
    let mut b = String::new();
    let patients: Vec<&String> = layout.patients.keys().collect();
    let title = match patients.as_slice() {
        [one] => format!("Case {one}"),
        _ => format!("{} cases", patients.len()),
    };
    let _ = writeln!(b, "<h1>{}</h1>", esc(&title));
    if !layout.notes.trim().is_empty() {
        let _ = writeln!(
            b,
            "<h2>Notes</h2><div class=\"notes\">{}</div>",
            esc(&layout.notes)
        );
    }
    // Series in package order, with their size and key image.
    let mut series: BTreeMap<(usize, usize, usize), (usize, &super::DirFile)> = BTreeMap::new();
    for f in layout.files.iter().map(|f| &f.dir) {
        series.entry(f.group).or_insert((0, f)).0 += 1;
    }
    let _ = writeln!(b, "<h2>Series</h2>");
    for ((p, st, se), (count, f)) in &series {
        let s = &f.series;
        let label = [
            s.modality.as_str(),
            &if s.series_number.is_empty() {
                String::new()
            } else {
                format!("series {}", s.series_number)
            },
            s.series_description.as_str(),
            &format!("{count} file(s)"),
        ]
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| esc(t))
        .collect::<Vec<_>>()
        .join(" · ");
        let study = [s.study_date.as_str(), s.study_description.as_str()]
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| esc(t))
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = writeln!(
            b,
            "<h3>{label}</h3><p>Patient <code>{}</code>{}</p>",
            esc(&s.patient_id),
            if study.is_empty() {
                String::new()
            } else {
                format!(", study {study}")
            }
        );
        // Every picture of the series: its key images and its cine.
        let series = format!("images/PAT{p:04}-STU{st:04}-SER{se:04}");
        for (name, bytes) in layout.images.iter().filter(|(n, _)| {
            n.strip_prefix(&series)
                .is_some_and(|rest| rest.starts_with(['.', '-']))
        }) {
            let (mime, alt) = if name.ends_with(".gif") {
                ("image/gif", "Cine of this series")
            } else {
                ("image/png", "Key image of this series")
            };
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            let _ = writeln!(
                b,
                "<figure><img alt=\"{alt}\" src=\"data:{mime};base64,{data}\"><figcaption><code>{}</code></figcaption></figure>",
                esc(name)
            );
        }
    }
    let _ = writeln!(
        b,
        "<p>De-identified with Obscura (DICOM PS3.15 Basic Profile); see <code>deidentification-report.html</code>. The DICOM files are in <code>DICOM/</code>, indexed by <code>DICOMDIR</code>.</p>"
    );
    page(&title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }
}

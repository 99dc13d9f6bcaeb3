//! The package's two readable pages, self-contained (no script, no remote resource; they
//! open offline on any laptop):
//!
//! - `deidentification-report.html`: profile, options, counts, what to check by eye, excluded
//!   files by reason, and per file every attribute and what was done — never an original value.
//! - `case.html`: a case presentation for teaching: a title, the user's own notes, and each
//!   series with a caption in words and its key images and cine (embedded, sized for slides).

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use super::Layout;
use crate::deid::Policy;

/// Text made safe to put in HTML (and XML).
pub(super) fn esc(s: &str) -> String {
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
figure img{max-width:100%;max-height:85vh;background:#000;display:block}figcaption{margin-top:.25rem}.small{font-size:.85em;color:#555}details{margin:.25rem 0}.notes{white-space:pre-wrap;border-left:3px solid #d8dbe0;padding-left:1rem}";

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
        "<tr><th>Files</th><td>{}</td></tr>",
        esc(&layout.files_line())
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

/// `case.html`: a case presentation. A title, the presenter's notes, then each series with
/// a caption in words ("MRI of the head, “AX T2”, 24 images"), never a file path, and its
/// key images and cine at a size for slides.
pub fn case_html(layout: &Layout) -> String {
    let case = super::case::Case::of(layout);
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", esc(&case.title));
    if !layout.notes.trim().is_empty() {
        let _ = writeln!(
            b,
            "<h2>Notes</h2><div class=\"notes\">{}</div>",
            esc(&layout.notes)
        );
    }
    let _ = writeln!(b, "<h2>Series</h2>");
    for series in &case.series {
        let s = &series.first.series;
        let about = [
            format!("Patient <code>{}</code>", esc(&s.patient_id)),
            if s.series_number.trim().is_empty() {
                String::new()
            } else {
                format!("series {}", esc(s.series_number.trim()))
            },
            [s.study_date.as_str(), s.study_description.as_str()]
                .iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| esc(t.trim()))
                .collect::<Vec<_>>()
                .join(" · "),
        ]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
        let caption = esc(&series.caption);
        let _ = writeln!(b, "<h3>{caption}</h3><p>{about}</p>");
        // Every picture of the series: its key images and its cine.
        for picture in &series.pictures {
            let (mime, what) = if picture.is_cine() {
                ("image/gif", "Cine")
            } else {
                ("image/png", "Key image")
            };
            let data = base64::engine::general_purpose::STANDARD.encode(picture.bytes);
            let _ = writeln!(
                b,
                "<figure><img alt=\"{what}: {caption}\" src=\"data:{mime};base64,{data}\"><figcaption>{what}: {caption}</figcaption></figure>",
            );
        }
    }
    let _ = writeln!(
        b,
        "<p class=\"small\">De-identified with Obscura (DICOM PS3.15 Basic Profile); see <code>deidentification-report.html</code>. The DICOM files are in <code>DICOM/</code>, indexed by <code>DICOMDIR</code>.</p>"
    );
    page(&case.title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_page_is_a_presentation_without_file_paths() {
        let mut writer = super::super::case::sample_package();
        let layout = writer.layout_mut();
        layout.set_notes("Teaching point: <b>fake</b>");
        let html = case_html(layout);
        assert!(
            html.contains("<h1>Teaching cases (2 patients)</h1>"),
            "{html}"
        );
        // The sample: a CT of two series of two images, an MR of one.
        assert_eq!(html.matches("<h3>CT, ").count(), 2, "{html}");
        assert_eq!(html.matches("<h3>MRI, ").count(), 1, "{html}");
        assert_eq!(html.matches(", 2 images</h3>").count(), 3, "{html}");
        assert_eq!(html.matches("<figcaption>Key image: ").count(), 3);
        assert!(
            !html.contains("<figcaption><code>"),
            "no file name as a caption"
        );
        assert!(!html.contains("DICOM/PAT"), "no file path");
        assert!(html.contains("Teaching point: &lt;b&gt;fake&lt;/b&gt;"));
        // Nothing of the fake patients (the sample's descriptions name them).
        for phi in ["FAKEDOE", "JANEFAKE", "FAKESMITH"] {
            assert!(!html.contains(phi), "{phi} in {html}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }
}

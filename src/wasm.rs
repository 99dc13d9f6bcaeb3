//! The browser binding: a thin layer over [`crate::deid::Session`] and
//! [`crate::package::PackageWriter`]. It only converts between JavaScript and Rust values.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::deid::{Change, Outcome, Policy, ProjectKey, ReviewRow, Session, Summary};
use crate::package::PackageWriter;
use crate::profile::{OptionSet, ProfileOption, PRESETS};

/// What the page learns about one processed file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileReport<'a> {
    status: &'static str,
    reason: String,
    before: Option<&'a Summary>,
    after: Option<&'a Summary>,
    changes: &'a [Change],
    review: &'a [ReviewRow],
    package_path: String,
}

/// A de-identification run in the browser: a session plus the package being streamed.
#[wasm_bindgen]
pub struct Run {
    session: Session,
    package: Option<PackageWriter>,
}

#[wasm_bindgen]
impl Run {
    /// Start a run. `options` are option ids (e.g. `retain-uids`); `key` is 32 random bytes
    /// or any bytes derived from the user's project passphrase.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Vec<String>, key: &[u8], date_offset_days: Option<i32>, pseudonyms_csv: Option<String>) -> Result<Run, JsError> {
        let mut chosen = Vec::new();
        for id in &options {
            chosen.push(ProfileOption::from_id(id).ok_or_else(|| JsError::new(&format!("unknown option {id}")))?);
        }
        let options = OptionSet::new(chosen).map_err(|e| JsError::new(&e))?;
        let mut policy = Policy::basic(ProjectKey::from_slice(key));
        policy.options = options;
        policy.date_offset_days = date_offset_days;
        if let Some(csv) = pseudonyms_csv {
            policy.load_pseudonyms_csv(&csv).map_err(|e| JsError::new(&e.to_string()))?;
        }
        Ok(Run { session: Session::new(policy), package: Some(PackageWriter::new()) })
    }

    /// De-identify one file. Returns `{report, chunk}`: what happened, and the bytes to append
    /// to the package (empty when the file was excluded or skipped).
    pub fn process(&mut self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let outcome = self.session.process(bytes);
        let package = self.package.as_mut().ok_or_else(|| JsError::new("the package is already finished"))?;
        let (report, chunk) = match &outcome {
            Outcome::Done(d) => {
                let chunk = package.add(d);
                let path = package_path(package);
                (
                    FileReport { status: "done", reason: String::new(), before: Some(&d.before), after: Some(&d.after), changes: &d.changes, review: &d.review, package_path: path },
                    chunk,
                )
            }
            Outcome::Skipped(why) => {
                package.layout_mut().skip();
                (FileReport { status: "skipped", reason: why.clone(), before: None, after: None, changes: &[], review: &[], package_path: String::new() }, Vec::new())
            }
            Outcome::Excluded(e) => {
                let reason = e.to_string();
                package.layout_mut().exclude(&reason);
                (FileReport { status: "excluded", reason, before: None, after: None, changes: &[], review: &[], package_path: String::new() }, Vec::new())
            }
        };
        let out = js_sys::Object::new();
        let report = serde_wasm_bindgen::to_value(&report).map_err(|e| JsError::new(&e.to_string()))?;
        js_sys::Reflect::set(&out, &"report".into(), &report).map_err(|_| JsError::new("could not build the report"))?;
        js_sys::Reflect::set(&out, &"chunk".into(), &js_sys::Uint8Array::from(chunk.as_slice())).map_err(|_| JsError::new("could not build the report"))?;
        Ok(out.into())
    }

    /// Finish the package: the report files and the ZIP directory, as the last bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsError> {
        let package = self.package.take().ok_or_else(|| JsError::new("the package is already finished"))?;
        Ok(package.finish(self.session.policy()))
    }

    /// The re-identification map as CSV (original,pseudonym). Only on the user's request.
    #[wasm_bindgen(js_name = reidentificationCsv)]
    pub fn reidentification_csv(&self) -> String {
        let mut s = String::from("original,pseudonym\n");
        for (orig, pseudo) in self.session.reidentification_map() {
            s.push_str(&format!("{},{}\n", orig.replace(',', " "), pseudo));
        }
        s
    }
}

fn package_path(_p: &PackageWriter) -> String {
    String::new()
}

/// The options and presets, for the settings panel.
#[wasm_bindgen(js_name = profileOptions)]
pub fn profile_options() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Opt {
        id: &'static str,
        label: &'static str,
        explanation: &'static str,
    }
    #[derive(Serialize)]
    struct Preset {
        id: &'static str,
        label: &'static str,
        explanation: &'static str,
        options: Vec<&'static str>,
    }
    #[derive(Serialize)]
    struct All {
        options: Vec<Opt>,
        presets: Vec<Preset>,
    }
    let all = All {
        options: ProfileOption::ALL.iter().map(|o| Opt { id: o.id(), label: o.code_meaning(), explanation: o.explanation() }).collect(),
        presets: PRESETS.iter().map(|p| Preset { id: p.id, label: p.label, explanation: p.explanation, options: p.options.iter().map(|o| o.id()).collect() }).collect(),
    };
    serde_wasm_bindgen::to_value(&all).map_err(|e| JsError::new(&e.to_string()))
}

/// The sample study's files as `[[name, bytes], …]`, generated in the browser.
#[wasm_bindgen(js_name = sampleStudy)]
pub fn sample_study() -> js_sys::Array {
    let out = js_sys::Array::new();
    for (name, bytes) in crate::sample::sample_study() {
        let pair = js_sys::Array::new();
        pair.push(&JsValue::from_str(&name));
        pair.push(&js_sys::Uint8Array::from(bytes.as_slice()));
        out.push(&pair);
    }
    out
}

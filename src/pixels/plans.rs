//! Compiled plans of an ONNX model for the input shapes it is given, a few kept: the text
//! detector ([`super::text_model`]) and the reader ([`super::text_read`]) each compile one per
//! tile or box size, which takes far longer than running it.

use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

/// A plan ready to run.
pub(super) type Plan = TypedRunnableModel;

/// A model and its plans for the shapes asked for, the most recently used last.
pub(super) struct Plans {
    model: InferenceModel,
    compiled: Mutex<Vec<([usize; 4], Arc<Plan>)>>,
    /// How many plans are kept.
    keep: usize,
}

impl Plans {
    pub(super) fn new(model: InferenceModel, keep: usize) -> Plans {
        Plans {
            model,
            compiled: Mutex::new(Vec::new()),
            keep: keep.max(1),
        }
    }

    /// The plan for an `f32` input of `shape`, compiled once (and again only if it was
    /// dropped for others since).
    pub(super) fn get(&self, shape: [usize; 4]) -> TractResult<Arc<Plan>> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = compiled.iter().position(|(s, _)| *s == shape) {
            let entry = compiled.remove(i);
            let plan = Arc::clone(&entry.1);
            compiled.push(entry);
            return Ok(plan);
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())?
            .into_optimized()?
            .into_runnable()?;
        if compiled.len() >= self.keep {
            compiled.remove(0);
        }
        compiled.push((shape, Arc::clone(&plan)));
        Ok(plan)
    }
}

//! `NativeBankTransfer`: a bank migration between stores (`integrations/migrate.ts` drives it
//! batch by batch and draws the progress bar).

use napi_derive::napi;

use super::error::{parse_json, to_js, to_json};
use crate::memory::{EndpointSpec, Transfer};

/// A migration from one store to another.
#[napi]
pub struct NativeBankTransfer {
    inner: Transfer,
}

#[napi]
impl NativeBankTransfer {
    /// Opens both ends: `from_json` and `to_json` are `{path}` or `{url, pgSchema?}`.
    #[napi(constructor, catch_unwind)]
    pub fn new(from_json: String, to_json: String) -> napi::Result<Self> {
        let from: EndpointSpec = parse_json("from", &from_json)?;
        let to: EndpointSpec = parse_json("to", &to_json)?;
        Ok(NativeBankTransfer {
            inner: Transfer::open(&from, &to).map_err(to_js)?,
        })
    }

    /// Copies the next batch; returns the progress JSON.
    #[napi(catch_unwind)]
    pub fn step(&mut self, batch: u32) -> napi::Result<String> {
        to_json(&self.inner.step(batch as usize).map_err(to_js)?)
    }
}

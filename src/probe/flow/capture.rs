//! Binding values from a step's response for the steps after it. A capture
//! that finds nothing fails the step (`assertion`), naming the capture but
//! never a value.

use crate::config::{Capture, CaptureSource};
use crate::model::{Cause, Failure};

use super::super::http::Fetched;

/// The value `capture` takes from `fetched`.
pub fn take(capture: &Capture, fetched: &Fetched) -> Result<String, Failure> {
    let miss = |what: &str| {
        Failure::new(
            Cause::Assertion,
            format!("capture `{}`: {} {what}", capture.name, capture.describe),
        )
    };
    let text = match &capture.source {
        CaptureSource::Status => fetched.status.to_string(),
        CaptureSource::Header(name) => {
            let value = fetched
                .headers
                .get(name)
                .ok_or_else(|| miss("is not in the response"))?;
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        }
        CaptureSource::Body => String::from_utf8_lossy(&fetched.body.prefix).into_owned(),
        CaptureSource::Json(path) => {
            if !fetched.body.complete() {
                return Err(Failure::new(
                    Cause::Body,
                    format!(
                        "capture `{}` needs the whole JSON body, larger than max_body: raise max_body",
                        capture.name
                    ),
                ));
            }
            let doc: serde_json::Value =
                serde_json::from_slice(&fetched.body.prefix).map_err(|_| {
                    Failure::new(
                        Cause::Body,
                        format!("capture `{}`: body is not valid JSON", capture.name),
                    )
                })?;
            let node = path
                .query(&doc)
                .all()
                .into_iter()
                .next()
                .ok_or_else(|| miss("matched nothing"))?;
            match node {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => return Err(miss("is null")),
                other => other.to_string(),
            }
        }
    };
    let value = match &capture.regex {
        None => text,
        Some(re) => {
            let caps = re
                .captures(&text)
                .ok_or_else(|| miss(&format!("does not match /{}/", re.as_str())))?;
            caps.get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default()
        }
    };
    if value.is_empty() {
        return Err(miss("is empty"));
    }
    Ok(value)
}

//! Page tokens: opaque to callers, base64 of a small JSON object holding
//! the offset of the next page and the snapshot bound of the first page
//! (the greatest run rowid, or experiment id, that the search could see
//! then). Later pages keep to that bound, so entities created while a
//! caller pages through a result never shift it: no entity is returned
//! twice.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    pub offset: usize,
    /// Absent in tokens that carry an offset only; then nothing is bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<i64>,
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl PageToken {
    pub fn encode(&self) -> String {
        ENGINE.encode(serde_json::to_vec(self).expect("a page token serialises"))
    }

    pub fn decode(token: &str) -> Result<PageToken, ValidationError> {
        let invalid = |rule: &str| ValidationError::InvalidValue {
            field: "page token",
            value: token.to_string(),
            rule: rule.to_string(),
        };
        let bytes = ENGINE.decode(token.trim()).map_err(|_| {
            invalid("it is not base64; pass a token exactly as a previous search returned it")
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|_| invalid("it does not hold a search position; pass a token exactly as a previous search returned it"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = PageToken {
            offset: 300,
            snapshot: Some(12),
        };
        assert_eq!(PageToken::decode(&t.encode()).unwrap(), t);
        // A token with an offset only, as MLflow writes them.
        let mlflow = ENGINE.encode(br#"{"offset": 5}"#);
        assert_eq!(
            PageToken::decode(&mlflow).unwrap(),
            PageToken {
                offset: 5,
                snapshot: None
            }
        );
        assert!(PageToken::decode("%%%").is_err());
        assert!(PageToken::decode(&ENGINE.encode(b"{\"page\": 1}")).is_err());
    }
}

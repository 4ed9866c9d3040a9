//! What a handler answers: a reply, or an error that becomes a JSON body
//! `{"error_code": ..., "message": ...}` with its HTTP status.

use serde::Serialize;

/// A response, before it is written.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Headers beyond the content type and those every reply carries.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A 200 JSON reply.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            // String keys and Float-encoded numbers: nothing can fail.
            body: serde_json::to_vec(value).expect("the answer serialises to JSON"),
            headers: Vec::new(),
        }
    }

    /// A 200 reply of `body` as `content_type`.
    pub fn bytes(content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// An API error: an HTTP status, MLflow's error code and a message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// 400 INVALID_PARAMETER_VALUE.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code: "INVALID_PARAMETER_VALUE",
            message: message.into(),
        }
    }

    /// 404 RESOURCE_DOES_NOT_EXIST.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            code: "RESOURCE_DOES_NOT_EXIST",
            message: message.into(),
        }
    }

    pub fn into_reply(self) -> Reply {
        let body = serde_json::json!({"error_code": self.code, "message": self.message});
        Reply {
            status: self.status,
            ..Reply::json(&body)
        }
    }
}

impl From<tracklite::Error> for ApiError {
    fn from(e: tracklite::Error) -> ApiError {
        use tracklite::Error as E;
        let message = e.to_string();
        match e {
            E::Validation(_) | E::InvalidFilter { .. } => ApiError::invalid(message),
            E::NotFound { .. } => ApiError::not_found(message),
            _ => ApiError {
                status: 500,
                code: "INTERNAL_ERROR",
                message,
            },
        }
    }
}

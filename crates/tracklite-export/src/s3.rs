//! Uploads straight to an S3 bucket (or an S3-compatible server), for runs
//! whose artifact URI is `s3://bucket/prefix`. Requests are signed by
//! rusty-s3 (SigV4, presigned URLs) and sent with ureq. Configuration is
//! read from the environment as MLflow's boto3 client reads it:
//!
//! - `MLFLOW_S3_ENDPOINT_URL`: an S3-compatible server (path-style URLs);
//!   default: AWS (`https://s3.<region>.amazonaws.com`, virtual-host URLs);
//! - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! - `AWS_REGION`, else `AWS_DEFAULT_REGION`; default `us-east-1`.
//!
//! Credentials in `~/.aws` profiles and instance roles are not read.
//! Signed URLs are never put into an error (they carry the session token).

use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::client::{Auth, Client, RetryPolicy};
use crate::error::Result;

/// How long a signed request stays valid: retries with backoff included.
const SIGNED_FOR: Duration = Duration::from_secs(3600);

/// The artifact folder of one run in a bucket.
pub(crate) struct S3Target {
    bucket: Bucket,
    credentials: Option<Credentials>,
    /// The key prefix of the run's artifacts, no leading or trailing `/`.
    prefix: String,
    /// A client without MLflow's credentials.
    client: Client,
}

impl S3Target {
    /// The target of artifact URI `uri` (`s3://bucket[/prefix]`), with
    /// the endpoint, region and credentials of the environment.
    pub fn from_env(uri: &str) -> std::result::Result<S3Target, String> {
        S3Target::from_env_with(uri, RetryPolicy::default())
    }

    /// [`S3Target::from_env`] with the timeouts and retries `retry`.
    pub fn from_env_with(uri: &str, retry: RetryPolicy) -> std::result::Result<S3Target, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{uri:?} is not an s3:// URI"))?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if name.is_empty() {
            return Err(format!("{uri:?} names no bucket"));
        }
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let (endpoint, style) = match var("MLFLOW_S3_ENDPOINT_URL") {
            Some(e) => (e, UrlStyle::Path),
            None => (
                format!("https://s3.{region}.amazonaws.com"),
                UrlStyle::VirtualHost,
            ),
        };
        let endpoint_url = url::Url::parse(&endpoint)
            .map_err(|e| format!("MLFLOW_S3_ENDPOINT_URL {endpoint:?}: {e}"))?;
        let bucket = Bucket::new(endpoint_url, style, name.to_string(), region)
            .map_err(|e| format!("bucket {name:?} at {endpoint}: {e}"))?;
        let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(match var("AWS_SESSION_TOKEN") {
                Some(token) => Credentials::new_with_token(key, secret, token),
                None => Credentials::new(key, secret),
            }),
            // Unsigned requests: a bucket open for writes.
            _ => None,
        };
        Ok(S3Target {
            bucket,
            credentials,
            prefix: prefix.trim_matches('/').to_string(),
            client: Client::new(&endpoint, &Auth::None, retry, 1),
        })
    }

    /// The object key of artifact file `path`.
    pub fn key(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    /// Puts artifact file `path` with `body` (replacing the object).
    pub fn put(&self, path: &str, body: &[u8]) -> Result<()> {
        let key = self.key(path);
        let url = self
            .bucket
            .put_object(self.credentials.as_ref(), &key)
            .sign(SIGNED_FOR);
        let label = format!("s3://{}/{key}", self.bucket.name());
        self.client.put_bytes(url.as_str(), &label, body)?;
        Ok(())
    }
}

/// What one S3 request of [`S3Target::probe`] is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Probe<'a> {
    /// `HEAD` the bucket.
    HeadBucket,
    /// List up to one key under the prefix.
    List,
    /// Put object `path` (under the prefix) with the body.
    Put(&'a str, &'a [u8]),
    /// Delete object `path` (under the prefix).
    Delete(&'a str),
}

impl S3Target {
    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    /// Sends `probe`. An error names S3's error code (`NoSuchBucket`,
    /// `AccessDenied`, ...) when the answer has one.
    pub fn probe(&self, probe: Probe<'_>) -> std::result::Result<(), S3Failure> {
        let creds = self.credentials.as_ref();
        let (method, url, label) = match probe {
            Probe::HeadBucket => (
                "HEAD",
                self.bucket.head_bucket(creds).sign(SIGNED_FOR),
                format!("s3://{}", self.bucket.name()),
            ),
            Probe::List => {
                // ListObjectsV2 is `GET /bucket/?list-type=2`: signed as a
                // get of the empty key with that query (rusty-s3's own
                // action needs its XML feature, for parsing the answer,
                // which the check does not read).
                let mut list = self.bucket.get_object(creds, "");
                list.query_mut().insert("list-type", "2");
                list.query_mut().insert("max-keys", "1");
                if !self.prefix.is_empty() {
                    list.query_mut()
                        .insert("prefix", format!("{}/", self.prefix));
                }
                (
                    "GET",
                    list.sign(SIGNED_FOR),
                    format!("s3://{}/{}", self.bucket.name(), self.prefix),
                )
            }
            Probe::Put(path, body) => {
                return self.put(path, body).map_err(S3Failure::from_error);
            }
            Probe::Delete(path) => {
                let key = self.key(path);
                (
                    "DELETE",
                    self.bucket.delete_object(creds, &key).sign(SIGNED_FOR),
                    format!("s3://{}/{key}", self.bucket.name()),
                )
            }
        };
        match self.client.text_at(method, url.as_str(), &label) {
            Ok(_) => Ok(()),
            Err(e) => Err(S3Failure::from_error(e)),
        }
    }
}

/// A failed S3 request: S3's code for it when known, and what happened
/// (the status and S3's message: never the whole answer, which may quote
/// the signed request).
#[derive(Debug)]
pub(crate) struct S3Failure {
    /// S3's error code, such as `NoSuchBucket`.
    pub code: Option<String>,
    /// The request could not be sent or got no answer.
    pub unreachable: bool,
    /// What happened.
    pub detail: String,
}

impl S3Failure {
    fn from_error(error: crate::error::ExportError) -> S3Failure {
        use crate::error::ExportError;
        match &error {
            ExportError::Server {
                method,
                endpoint,
                status,
                message,
                ..
            } => {
                let code = xml_element(message, "Code").or_else(|| {
                    // A HEAD answer has no body: its status says it.
                    match status {
                        301 => Some("PermanentRedirect"),
                        403 => Some("AccessDenied"),
                        404 => Some("NoSuchBucket"),
                        _ => None,
                    }
                    .map(str::to_string)
                });
                let said = xml_element(message, "Message")
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                S3Failure {
                    code,
                    unreachable: false,
                    detail: format!("{method} {endpoint}: HTTP {status}{said}"),
                }
            }
            ExportError::Connection { .. } => S3Failure {
                code: None,
                unreachable: true,
                detail: error.to_string(),
            },
            _ => S3Failure {
                code: None,
                unreachable: false,
                detail: error.to_string(),
            },
        }
    }
}

/// The text of element `<name>` of an S3 error document.
fn xml_element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(body[start..start + len].trim().to_string()).filter(|c| !c.is_empty())
}

/// The setting to look at for S3 error `code`.
pub(crate) fn fix_for(code: &str) -> &'static str {
    match code {
        "NoSuchBucket" => {
            "the bucket of the server's artifact root does not exist at this endpoint; check the \
             server's --default-artifact-root or --artifacts-destination, and \
             MLFLOW_S3_ENDPOINT_URL"
        }
        "InvalidAccessKeyId" => "the key id is unknown: check AWS_ACCESS_KEY_ID",
        "SignatureDoesNotMatch" => {
            "the signature does not match: check AWS_SECRET_ACCESS_KEY (and AWS_ACCESS_KEY_ID)"
        }
        "AccessDenied" | "AllAccessDisabled" => {
            "these credentials may not use the bucket: check AWS_ACCESS_KEY_ID, \
             AWS_SECRET_ACCESS_KEY and the bucket's policy"
        }
        "ExpiredToken" | "InvalidToken" | "TokenRefreshRequired" => {
            "the session token is not valid: check AWS_SESSION_TOKEN"
        }
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => {
            "the bucket is in another region: set AWS_REGION (or AWS_DEFAULT_REGION)"
        }
        "RequestTimeTooSkewed" => "this machine's clock is off: set it right",
        _ => {
            "check MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_prefix() {
        let target = S3Target::from_env("s3://bucket/some/prefix/1/abc/artifacts/").unwrap();
        assert_eq!(
            target.key("model/w.bin"),
            "some/prefix/1/abc/artifacts/model/w.bin"
        );
        assert!(S3Target::from_env("s3:///x").is_err());
    }

    #[test]
    fn error_codes_are_read() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_element(body, "Message").as_deref(), Some("x"));
        assert_eq!(xml_element("<Error></Error>", "Code"), None);
        assert!(fix_for("SignatureDoesNotMatch").contains("AWS_SECRET_ACCESS_KEY"));
    }

    fn server_error(status: u16, body: &str) -> crate::error::ExportError {
        crate::error::ExportError::Server {
            method: "GET",
            endpoint: "s3://b/p".into(),
            status,
            code: None,
            message: body.into(),
        }
    }

    #[test]
    fn failures_name_the_code_and_not_the_request() {
        // As AWS answers a request signed with a wrong secret: the answer
        // quotes the request, key id included.
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\
                    SignatureDoesNotMatch</Code><Message>The request signature we calculated \
                    does not match the signature you provided.</Message><AWSAccessKeyId>\
                    AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256";
        let f = S3Failure::from_error(server_error(403, body));
        assert_eq!(f.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(
            f.detail.contains("HTTP 403: The request signature"),
            "{}",
            f.detail
        );
        assert!(!f.detail.contains("AKIAEXAMPLE"), "{}", f.detail);
        let body = "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you \
                    provided does not exist in our records.</Message></Error>";
        let f = S3Failure::from_error(server_error(403, body));
        assert_eq!(f.code.as_deref(), Some("InvalidAccessKeyId"));
        assert!(fix_for("InvalidAccessKeyId").contains("AWS_ACCESS_KEY_ID"));
        // A HEAD answer has no body: the status tells.
        let f = S3Failure::from_error(server_error(404, ""));
        assert_eq!(f.code.as_deref(), Some("NoSuchBucket"));
        let f = S3Failure::from_error(server_error(500, "oops"));
        assert_eq!(f.code, None);
        assert!(!f.unreachable);
    }
}

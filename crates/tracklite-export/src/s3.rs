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
            client: Client::new(&endpoint, &Auth::None, RetryPolicy::default(), 1),
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
}

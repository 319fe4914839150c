//! A small HTTP(S) client (hyper with rustls and the system's roots), for the smoke test
//! and for talking to an external durable service.

use anyhow::Context;
use axum::body::Bytes;
use axum::http::Request;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The longest one request may take, answer included.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    pub fn new() -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("cannot load the system's TLS root certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Client {
            inner: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build(connector),
        })
    }

    /// Sends one request; returns the status and the body as text. At most
    /// [`REQUEST_TIMEOUT`], answer included.
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        Ok(self
            .request_by(deadline, method, url, headers, body)
            .await?)
    }

    /// Sends one request that must be answered, body included, by `deadline` (a
    /// connection that is accepted and never answered ends there too).
    pub async fn request_by(
        &self,
        deadline: tokio::time::Instant,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String), RequestError> {
        let started = tokio::time::Instant::now();
        let (m, u) = (|| method.to_owned(), || url.to_owned());
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RequestError::Build {
                method: m(),
                url: u(),
                source: e.into(),
            })?;
        // One deadline for the whole exchange: the connection, the headers and the body.
        let exchange = async {
            let res = self
                .inner
                .request(req)
                .await
                .map_err(|e| RequestError::Send {
                    method: m(),
                    url: u(),
                    source: e.into(),
                })?;
            let status = res.status().as_u16();
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| RequestError::Read {
                    method: m(),
                    url: u(),
                    source: e.into(),
                })?
                .to_bytes();
            Ok::<_, RequestError>((status, bytes))
        };
        let (status, bytes) =
            tokio::time::timeout_at(deadline, exchange)
                .await
                .map_err(|_| RequestError::NoAnswer {
                    method: m(),
                    url: u(),
                    after: started.elapsed(),
                })??;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("cannot build the request {method} {url}")]
    Build {
        method: String,
        url: String,
        #[source]
        source: BoxError,
    },
    #[error("{method} {url} failed")]
    Send {
        method: String,
        url: String,
        #[source]
        source: BoxError,
    },
    #[error("cannot read the answer to {method} {url}")]
    Read {
        method: String,
        url: String,
        #[source]
        source: BoxError,
    },
    #[error("{method} {url} got no answer within {} s", after.as_secs_f64().round())]
    NoAnswer {
        method: String,
        url: String,
        /// How long it waited.
        after: std::time::Duration,
    },
}

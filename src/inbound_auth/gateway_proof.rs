//! The gateway proof: a shared secret APIM adds to every request it forwards, so the function
//! app's own public endpoint is useless to anyone who bypasses APIM (and its token check and
//! rate limit).
//!
//! The check runs before token validation and answers a bare 403: someone talking to the
//! backend directly learns nothing about what it expects. Values are compared as SHA-256
//! digests in constant time, so neither the value nor its length leaks through timing. During a
//! rotation both the current and the previous value are accepted, because APIM and this server
//! pick up a new value at different moments.
//!
//! A header value that is not visible ASCII is refused as malformed: no proof APIM sends can
//! look like that, and it is never compared as if it were some other value.
//!
//! Where the expected values come from is behind [`ProofSource`]: configuration for local
//! development, Key Vault in Azure ([`crate::secrets::gateway_proof`]). A mismatch is refused at
//! once; the source may then look again in the background (Key Vault: one read at a time, at
//! most every few seconds), because APIM may have switched to a new secret version before this
//! server's next scheduled refresh. No request ever waits for that re-read.

use std::{future::Future, pin::Pin, sync::Arc};

use aws_lc_rs::{constant_time, digest};
use axum::{
    extract::{Request, State},
    http::{HeaderName, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{config::SecretString, telemetry::AuthFacts};

/// The digest of one accepted value. No `Debug`: even a digest of a proof stays out of logs.
#[derive(Clone)]
pub struct ProofDigest(digest::Digest);

impl ProofDigest {
    pub fn of(value: &str) -> Self {
        Self(digest::digest(&digest::SHA256, value.as_bytes()))
    }

    fn matches(&self, presented: &ProofDigest) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_ref(), presented.0.as_ref()).is_ok()
    }
}

/// The proof values could not be obtained (the secret store is unreachable and nothing is
/// cached): fail closed.
#[derive(Debug)]
pub struct ProofUnavailable;

pub type ProofFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<[ProofDigest]>, ProofUnavailable>> + Send + 'a>>;

/// Supplies the accepted proof values: the current one and, during a rotation, the previous.
pub trait ProofSource: Send + Sync + 'static {
    /// The accepted values.
    fn accepted(&self) -> ProofFuture<'_>;

    /// A presented proof matched none of them: the source may look again, in the background.
    /// It must not make the caller wait.
    fn mismatched(&self) {}
}

/// Fixed values from configuration.
pub struct ConfiguredProof(Arc<[ProofDigest]>);

impl ConfiguredProof {
    pub fn new(values: &[SecretString]) -> Self {
        Self(
            values
                .iter()
                .map(|value| ProofDigest::of(value.expose()))
                .collect(),
        )
    }
}

impl ProofSource for ConfiguredProof {
    fn accepted(&self) -> ProofFuture<'_> {
        let values = Arc::clone(&self.0);
        Box::pin(async move { Ok(values) })
    }
}

#[derive(Clone)]
pub struct GatewayProof {
    pub header: HeaderName,
    pub source: Arc<dyn ProofSource>,
}

/// Refuses requests that do not carry an accepted proof.
pub async fn check(State(proof): State<GatewayProof>, request: Request, next: Next) -> Response {
    let mut presented = request.headers().get_all(&proof.header).iter();
    let presented = match (presented.next(), presented.next()) {
        // `to_str` accepts visible ASCII (and spaces) only.
        (Some(value), None) => match value.to_str() {
            Ok(value) => ProofDigest::of(value),
            Err(_) => return refuse(StatusCode::FORBIDDEN, "gateway_proof_malformed"),
        },
        _ => return refuse(StatusCode::FORBIDDEN, "gateway_proof_missing"),
    };
    let accepted = match proof.source.accepted().await {
        Ok(accepted) => accepted,
        Err(ProofUnavailable) => {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "gateway_proof_unavailable");
        }
    };
    // Compare against every value, so timing does not tell which one matched.
    let matched = accepted
        .iter()
        .fold(false, |matched, value| value.matches(&presented) | matched);
    if matched {
        return next.run(request).await;
    }
    proof.source.mismatched();
    refuse(StatusCode::FORBIDDEN, "gateway_proof_mismatch")
}

fn refuse(status: StatusCode, reason: &'static str) -> Response {
    let mut response = status.into_response();
    response
        .extensions_mut()
        .insert(AuthFacts::refused(reason, None));
    response
}

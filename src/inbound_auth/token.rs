//! From an `Authorization` header to a [`Caller`], or to the precise reason for refusing.
//!
//! The order of checks matters: everything that can be decided without cryptography (header
//! shape, size, algorithm, forbidden header members) is decided first; then the key is chosen
//! by `kid` from the tenant's own key set and never from anything the token says about where
//! keys live (`jku`, `x5u`, `jwk`, `x5c` are refused outright, as is the header `nonce` that
//! only Graph tokens carry), and a `crit` header is refused whatever it names, because this
//! server understands no JWS extension (RFC 7515 §4.1.11); then jsonwebtoken verifies the RS256
//! signature and the standard claims; then an `iat` later than now (beyond the leeway) is
//! refused; then the Entra-specific rules: tenant, caller type, scope or app role, client app.
//!
//! A token that passed all of that is remembered ([`ValidatedTokens`]) until its `exp`, so the
//! same token presented again costs a SHA-256 and a lookup instead of the RSA check; a refusal
//! is never remembered.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{
    keys::{KeyLookup, SigningKeys},
    validated::{ValidatedTokens, token_digest},
};
use crate::{
    caller::{BearerToken, Caller, CallerKind},
    config::{AuthConfig, normalize_guid},
    telemetry::CallerIdentity,
};

/// Entra tokens with many claims stay well under this; anything larger is not ours.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 60;
/// Header members that point at keys outside the tenant's key set, and Graph's `nonce`.
const FORBIDDEN_HEADER_MEMBERS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "nonce"];

/// Why a request was not accepted. `code()` is the audit reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token at all (a token in the query string or body does not count).
    NoToken,
    /// More than one `Authorization` header.
    AmbiguousCredentials,
    Invalid(Invalid),
    /// Valid token, but it does not grant what is needed.
    Insufficient(Insufficient),
    /// The tenant's signing keys could not be fetched and none are cached.
    KeysUnavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    TooLarge,
    Malformed,
    UnsupportedAlgorithm,
    ForbiddenHeader,
    /// `crit` names an extension this server must understand, and it understands none.
    CriticalHeader,
    MissingKeyId,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    /// `iat` lies in the future beyond the leeway.
    IssuedInTheFuture,
    MissingClaim,
    WrongIssuer,
    WrongAudience,
    WrongTenant,
    ClientNotAllowed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insufficient {
    MissingScope,
    AppOnlyNotAllowed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoToken => "no_token",
            Refusal::AmbiguousCredentials => "ambiguous_credentials",
            Refusal::KeysUnavailable => "keys_unavailable",
            Refusal::Insufficient(Insufficient::MissingScope) => "missing_scope",
            Refusal::Insufficient(Insufficient::AppOnlyNotAllowed) => "app_only_not_allowed",
            Refusal::Invalid(invalid) => match invalid {
                Invalid::TooLarge => "token_too_large",
                Invalid::Malformed => "malformed_token",
                Invalid::UnsupportedAlgorithm => "unsupported_algorithm",
                Invalid::ForbiddenHeader => "forbidden_header",
                Invalid::CriticalHeader => "critical_header",
                Invalid::MissingKeyId => "missing_kid",
                Invalid::UnknownKey => "unknown_key",
                Invalid::BadSignature => "bad_signature",
                Invalid::Expired => "expired",
                Invalid::NotYetValid => "not_yet_valid",
                Invalid::IssuedInTheFuture => "issued_in_the_future",
                Invalid::MissingClaim => "missing_claim",
                Invalid::WrongIssuer => "wrong_issuer",
                Invalid::WrongAudience => "wrong_audience",
                Invalid::WrongTenant => "wrong_tenant",
                Invalid::ClientNotAllowed => "client_not_allowed",
            },
        }
    }
}

/// A refusal, with the caller's identity when the token itself was genuine.
pub type Refused = (Refusal, Option<CallerIdentity>);

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
pub(crate) struct Claims {
    /// A NumericDate: seconds, possibly with a fraction. Required, but checked by jsonwebtoken
    /// after this is parsed: a required field here would turn a missing `exp` into a parse
    /// error (`malformed_token`) instead of `missing_claim`.
    exp: Option<f64>,
    /// A NumericDate: seconds, possibly with a fraction.
    iat: Option<f64>,
    tid: Option<String>,
    oid: Option<String>,
    /// v2 tokens name the client application `azp`, v1 tokens `appid`.
    azp: Option<String>,
    appid: Option<String>,
    scp: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// Validates tokens for one configured API.
pub struct TokenValidator {
    config: Arc<AuthConfig>,
    keys: Arc<SigningKeys>,
    validation: Validation,
    validated: ValidatedTokens,
    /// The key-set generation whose retired keys `validated` has been purged of.
    purged_for: AtomicU64,
}

impl TokenValidator {
    pub fn new(config: Arc<AuthConfig>, keys: Arc<SigningKeys>) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
        let mut issuers = vec![config.v2_issuer()];
        if config.accept_v1_tokens {
            issuers.push(format!("https://sts.windows.net/{}/", config.tenant_id));
        }
        validation.set_issuer(&issuers);
        // v2 tokens carry the client id; v1 tokens may carry the identifier URI instead.
        validation.set_audience(&[config.client_id.as_str(), config.app_id_uri.as_str()]);
        Self {
            config,
            keys,
            validation,
            validated: ValidatedTokens::default(),
            purged_for: AtomicU64::new(0),
        }
    }

    /// The caller behind the request's bearer token, or why it is refused.
    pub async fn validate(&self, headers: &HeaderMap) -> Result<Arc<Caller>, Refused> {
        let token = bearer_token(headers).map_err(|refusal| (refusal, None))?;
        self.validate_token(token).await
    }

    /// As [`TokenValidator::validate`], for the token itself.
    pub async fn validate_token(&self, token: &str) -> Result<Arc<Caller>, Refused> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err((Refusal::Invalid(Invalid::TooLarge), None));
        }
        let digest = token_digest(token);
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(caller) = self.validated.get(&digest, token, now, self.keys.as_ref()) {
            return Ok(caller);
        }
        let kid = check_header(token).map_err(|invalid| (Refusal::Invalid(invalid), None))?;
        let key = match self.keys.find(&kid).await {
            KeyLookup::Found(key) => key,
            KeyLookup::Unknown => return Err((Refusal::Invalid(Invalid::UnknownKey), None)),
            KeyLookup::Unavailable => return Err((Refusal::KeysUnavailable, None)),
        };
        self.purge_retired_keys();
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|error| (Refusal::Invalid(classify(error.kind())), None))?
            .claims;
        // jsonwebtoken has refused a token without exp already (a required spec claim); the
        // cache relies on it, so it is stated here too rather than assumed.
        let exp = claims
            .exp
            .ok_or((Refusal::Invalid(Invalid::MissingClaim), None))?;
        // A fractional exp counts down to the whole second before it: never past it.
        let expires_at = exp.floor().max(0.0) as u64;
        let caller = Arc::new(caller_from(&self.config, claims, token)?);
        self.validated
            .insert(digest, Arc::clone(&caller), expires_at, &kid, key, now);
        Ok(caller)
    }

    /// After the key set changed, forgets the tokens whose keys it no longer publishes.
    fn purge_retired_keys(&self) {
        let generation = self.keys.generation();
        if self.purged_for.swap(generation, Ordering::AcqRel) != generation {
            self.validated.retain_published(self.keys.as_ref());
        }
    }

    /// How many validated tokens are remembered.
    pub fn remembered(&self) -> usize {
        self.validated.len()
    }
}

/// Decides what can be decided from the header alone; returns the key id.
pub(crate) fn check_header(token: &str) -> Result<String, Invalid> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Invalid::TooLarge);
    }
    let mut segments = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(Invalid::Malformed);
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(Invalid::Malformed)?;
    if header.alg.as_deref() != Some("RS256") {
        return Err(Invalid::UnsupportedAlgorithm);
    }
    if FORBIDDEN_HEADER_MEMBERS
        .iter()
        .any(|member| header.rest.contains_key(*member))
    {
        return Err(Invalid::ForbiddenHeader);
    }
    if header.rest.contains_key("crit") {
        return Err(Invalid::CriticalHeader);
    }
    header
        .kid
        .filter(|kid| !kid.is_empty() && kid.len() <= 256)
        .ok_or(Invalid::MissingKeyId)
}

/// The rules on claims whose signature and standard claims (`exp`, `nbf`, `iss`, `aud`) were
/// verified: `iat`, then tenant, caller type, scope or app role, client application.
pub(crate) fn caller_from(
    config: &AuthConfig,
    claims: Claims,
    token: &str,
) -> Result<Caller, Refused> {
    let invalid = |invalid| (Refusal::Invalid(invalid), None);
    let latest_issue = (jsonwebtoken::get_current_timestamp() + LEEWAY_SECONDS) as f64;
    if claims.iat.is_some_and(|iat| iat > latest_issue) {
        return Err(invalid(Invalid::IssuedInTheFuture));
    }
    let tenant_id = claims
        .tid
        .as_deref()
        .and_then(normalize_guid)
        .ok_or_else(|| invalid(Invalid::MissingClaim))?;
    if tenant_id != config.tenant_id {
        return Err(invalid(Invalid::WrongTenant));
    }
    let object_id = claims
        .oid
        .as_deref()
        .and_then(normalize_guid)
        .ok_or_else(|| invalid(Invalid::MissingClaim))?;
    let client_app_id = claims
        .azp
        .as_deref()
        .or(claims.appid.as_deref())
        .and_then(normalize_guid)
        .ok_or_else(|| invalid(Invalid::MissingClaim))?;
    let identity = CallerIdentity {
        tenant_id: tenant_id.clone(),
        object_id: object_id.clone(),
        client_app_id: client_app_id.clone(),
    };
    if !config.allowed_client_apps.is_empty()
        && !config.allowed_client_apps.contains(&client_app_id)
    {
        return Err((Refusal::Invalid(Invalid::ClientNotAllowed), Some(identity)));
    }

    let (kind, scopes) = match claims.scp {
        Some(scp) => {
            let scopes: Vec<String> = scp.split_whitespace().map(str::to_owned).collect();
            if !scopes.contains(&config.required_scope) {
                return Err((
                    Refusal::Insufficient(Insufficient::MissingScope),
                    Some(identity),
                ));
            }
            (CallerKind::User, scopes)
        }
        None => {
            let admitted = claims
                .roles
                .iter()
                .any(|role| config.allowed_app_roles.contains(role));
            if !admitted {
                return Err((
                    Refusal::Insufficient(Insufficient::AppOnlyNotAllowed),
                    Some(identity),
                ));
            }
            (CallerKind::Application, Vec::new())
        }
    };
    Ok(Caller {
        tenant_id,
        object_id,
        client_app_id,
        kind,
        scopes,
        roles: claims.roles,
        token: Some(BearerToken::new(token.to_owned())),
    })
}

/// The bearer token from the one `Authorization` header (scheme case-insensitive).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, Refusal> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Refusal::NoToken);
    };
    if values.next().is_some() {
        return Err(Refusal::AmbiguousCredentials);
    }
    let value = value
        .to_str()
        .map_err(|_| Refusal::Invalid(Invalid::Malformed))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Credentials of another scheme are not a bearer token.
        return Err(Refusal::NoToken);
    }
    let token = token.trim_matches(' ');
    let b64token = !token.is_empty()
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/=".contains(&byte));
    if !b64token {
        return Err(Refusal::Invalid(Invalid::Malformed));
    }
    Ok(token)
}

fn classify(kind: &ErrorKind) -> Invalid {
    match kind {
        ErrorKind::ExpiredSignature => Invalid::Expired,
        ErrorKind::ImmatureSignature => Invalid::NotYetValid,
        ErrorKind::InvalidIssuer => Invalid::WrongIssuer,
        ErrorKind::InvalidAudience => Invalid::WrongAudience,
        ErrorKind::MissingRequiredClaim(_) => Invalid::MissingClaim,
        ErrorKind::InvalidSignature => Invalid::BadSignature,
        ErrorKind::InvalidAlgorithm => Invalid::UnsupportedAlgorithm,
        _ => Invalid::Malformed,
    }
}

#[cfg(test)]
mod tests {
    //! The header and claim rules on generated input: the same properties the `jwt_header` and
    //! `jwt_claims` fuzz targets check. (The whole path, with signed tokens, is tested against
    //! the real binary in tests/it/inbound_auth.)

    use std::time::Duration;

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const USER: &str = "0c8f6a4e-2f0b-4bd1-9c2e-7d1a3b5c9e01";

    fn config() -> AuthConfig {
        AuthConfig {
            tenant_id: TENANT.into(),
            client_id: "5e3b9a55-9d1b-4c43-a43c-1b1b4e8a0001".into(),
            app_id_uri: "api://5e3b9a55-9d1b-4c43-a43c-1b1b4e8a0001".into(),
            required_scope: "user_impersonation".into(),
            allowed_client_apps: Vec::new(),
            allowed_app_roles: vec!["MCP.Operator".into()],
            accept_v1_tokens: false,
            authority_host: "https://login.microsoftonline.com".parse().unwrap(),
            jwks_refresh_cooldown: Duration::from_secs(300),
            gateway_proof: None,
        }
    }

    fn token_with_header(header: &Value) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()))
    }

    /// Header members as tokens carry them, and as attackers would.
    fn header() -> impl Strategy<Value = Value> {
        let name = proptest::sample::select(
            &[
                "alg", "kid", "typ", "jku", "x5u", "jwk", "x5c", "nonce", "crit", "x5t",
            ][..],
        );
        let value = prop_oneof![
            Just(json!("RS256")),
            Just(json!("none")),
            Just(json!("HS256")),
            "[A-Za-z0-9_-]{0,300}".prop_map(Value::from),
            Just(json!(["kid"])),
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
        ];
        proptest::collection::btree_map(name, value, 0..6).prop_map(|members| {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
    }

    fn claims() -> impl Strategy<Value = Map<String, Value>> {
        let name =
            proptest::sample::select(&["tid", "oid", "azp", "appid", "scp", "roles", "iat"][..]);
        let value = prop_oneof![
            Just(json!(TENANT)),
            Just(json!(TENANT.to_uppercase())),
            Just(json!(USER)),
            Just(json!("72f988bf86f141af91ab2d7cd011db47")),
            Just(json!("user_impersonation")),
            Just(json!("Mail.Read user_impersonation")),
            Just(json!("user_impersonationx")),
            Just(json!(["MCP.Operator"])),
            Just(json!(["MCP.Writer"])),
            Just(json!(1.7e9)),
            Just(json!(4.1e9)),
            "\\PC{0,40}".prop_map(Value::from),
        ];
        proptest::collection::btree_map(name, value, 0..8).prop_map(|members| {
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn a_key_id_comes_only_from_a_header_that_names_no_key_location(header in header()) {
            let expected_ok = header["alg"] == "RS256"
                && ["jku", "x5u", "jwk", "x5c", "nonce", "crit"]
                    .iter()
                    .all(|member| header.get(member).is_none())
                && header["kid"].as_str().is_some_and(|kid| !kid.is_empty() && kid.len() <= 256);
            let checked = check_header(&token_with_header(&header));
            prop_assert_eq!(checked.is_ok(), expected_ok, "{} -> {:?}", header, checked);
            if let Ok(kid) = checked {
                prop_assert_eq!(Some(kid.as_str()), header["kid"].as_str());
            }
        }

        #[test]
        fn any_authorization_value_is_refused_or_yields_a_key_id(value in "\\PC{0,64}") {
            let mut headers = HeaderMap::new();
            let Ok(value) = http::HeaderValue::from_str(&value) else { return Ok(()) };
            headers.insert(AUTHORIZATION, value);
            if let Ok(token) = bearer_token(&headers) {
                prop_assert!(!token.is_empty());
                let _ = check_header(token);
            }
        }

        #[test]
        fn a_caller_comes_only_from_claims_that_meet_every_rule(claims in claims()) {
            let json = Value::Object(claims.clone()).to_string();
            let Ok(parsed) = serde_json::from_str::<Claims>(&json) else { return Ok(()) };
            let config = config();
            match caller_from(&config, parsed, "token") {
                Ok(caller) => {
                    prop_assert_eq!(caller.tenant_id.as_str(), TENANT);
                    prop_assert_eq!(caller.object_id.as_str(), USER);
                    prop_assert!(claims.get("iat").is_none_or(|iat| iat.as_f64() < Some(4e9)));
                    match caller.kind {
                        CallerKind::User => prop_assert!(caller.scopes.contains(&config.required_scope)),
                        CallerKind::Application => {
                            prop_assert!(claims.get("scp").is_none());
                            prop_assert!(caller.roles.iter().any(|role| role == "MCP.Operator"));
                        }
                    }
                }
                Err((refusal, identity)) => {
                    // The caller is named only when the token names a valid one.
                    if let Some(identity) = identity {
                        prop_assert_eq!(identity.tenant_id.as_str(), TENANT);
                        prop_assert!(refusal != Refusal::Invalid(Invalid::MissingClaim));
                    }
                }
            }
        }
    }
}

//! Tokens built to get past validation: forged, tampered, misdirected, stripped of claims.

use devstack::{
    keys::{SigningKey, base64url, sign_hs256, unsigned},
    tenant::{DAEMON_CLIENT_ID, MCP_OPERATOR, USER_IMPERSONATION},
};
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::harness::*;

/// Claims every accepted token carries; a token without any one of them is refused.
const REQUIRED_CLAIMS: [&str; 7] = ["exp", "nbf", "iss", "aud", "tid", "oid", "azp"];

#[tokio::test]
async fn adversarial_tokens_are_refused_with_the_right_status_challenge_and_reason() {
    let server = TestServer::start();
    let devstack = &server.devstack;
    let attacker = SigningKey::generate();
    let valid = server.token();
    let claims = devstack.user_claims("adele", &[USER_IMPERSONATION]);
    let header = devstack.token_header();
    let public_jwk = devstack_public_jwk(&server).await;
    let n = public_jwk["n"].as_str().unwrap().to_owned();

    assert_accepted(&server, "the unmodified token", &valid).await;

    let no_error = Refused {
        status: StatusCode::UNAUTHORIZED,
        error: None,
        reason: "no_token",
    };
    let cases: Vec<(&str, Option<String>, Refused)> = vec![
        ("no Authorization header", None, no_error),
        (
            "another scheme",
            Some("Basic dXNlcjpwYXNzd29yZA==".into()),
            Refused {
                status: StatusCode::UNAUTHORIZED,
                error: None,
                reason: "no_token",
            },
        ),
        (
            "empty bearer",
            Some("Bearer ".into()),
            unauthorized("malformed_token"),
        ),
        (
            "not a JWT",
            bearer("not-a-jwt"),
            unauthorized("malformed_token"),
        ),
        (
            "two segments",
            bearer("abc.def"),
            unauthorized("malformed_token"),
        ),
        (
            "four segments",
            bearer(format!("{valid}.xyz")),
            unauthorized("malformed_token"),
        ),
        (
            "characters outside b64token",
            bearer("a.b.c\"d"),
            unauthorized("malformed_token"),
        ),
        (
            "header that is not JSON",
            bearer(replace_segment(&valid, 0, &base64url("not json"))),
            unauthorized("malformed_token"),
        ),
        (
            "unsigned, alg none",
            bearer(unsigned(&json!({ "alg": "none", "typ": "JWT" }), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "unsigned, alg None",
            bearer(unsigned(
                &json!({ "alg": "None", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "HS256 keyed with the public key's modulus",
            bearer(sign_hs256(
                n.as_bytes(),
                &json!({ "alg": "HS256", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "HS256 keyed with the published JWK",
            bearer(sign_hs256(
                public_jwk.to_string().as_bytes(),
                &json!({ "alg": "HS256", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "RS512 named in the header",
            bearer(devstack.sign(&with(&header, "alg", json!("RS512")), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "PS256 named in the header",
            bearer(devstack.sign(&with(&header, "alg", json!("PS256")), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "no kid",
            bearer(devstack.sign(&without(&header, "kid"), &claims)),
            unauthorized("missing_kid"),
        ),
        (
            "unknown kid, attacker's key",
            bearer(forged_header(&server, &attacker, |_| {})),
            unauthorized("unknown_key"),
        ),
        (
            "jku pointing at the attacker's JWKS",
            bearer(forged_header(&server, &attacker, |h| {
                h["jku"] = format!("{}/attacker/jwks", devstack.base_url()).into()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "jku pointing at the real JWKS",
            bearer(
                devstack.sign(
                    &with(
                        &header,
                        "jku",
                        format!(
                            "{}/{}/discovery/v2.0/keys",
                            devstack.base_url(),
                            devstack.tenant_id()
                        )
                        .into(),
                    ),
                    &claims,
                ),
            ),
            unauthorized("forbidden_header"),
        ),
        (
            "x5u pointing at the attacker's certificate",
            bearer(forged_header(&server, &attacker, |h| {
                h["x5u"] = format!("{}/attacker/cert.pem", devstack.base_url()).into()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "embedded jwk of the attacker's key",
            bearer(forged_header(&server, &attacker, |h| {
                h["jwk"] = attacker.public_jwk()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "embedded x5c",
            bearer(forged_header(&server, &attacker, |h| {
                h["x5c"] = json!([base64url("not a certificate")])
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "the real kid, signed by the attacker",
            bearer(attacker.sign_rs256(&header, &claims)),
            unauthorized("bad_signature"),
        ),
        (
            "tampered payload: other user",
            bearer(replace_segment(
                &valid,
                1,
                &base64url(
                    with(
                        &claims,
                        "oid",
                        json!("11111111-2222-3333-4444-555555555555"),
                    )
                    .to_string(),
                ),
            )),
            unauthorized("bad_signature"),
        ),
        (
            "tampered payload: added scope",
            bearer(replace_segment(
                &valid,
                1,
                &base64url(with(&claims, "scp", json!("user_impersonation Mail.Send")).to_string()),
            )),
            unauthorized("bad_signature"),
        ),
        (
            "tampered signature",
            bearer(tamper_signature(&valid)),
            unauthorized("bad_signature"),
        ),
        (
            "signature removed",
            bearer(replace_segment(&valid, 2, "")),
            unauthorized("bad_signature"),
        ),
        (
            "audience of another API",
            bearer(signed_with(&server, |c| {
                c["aud"] = "9a2d8c1e-0000-4000-8000-000000000001".into()
            })),
            unauthorized("wrong_audience"),
        ),
        (
            "Graph audience",
            bearer(signed_with(&server, |c| c["aud"] = GRAPH_APP_ID.into())),
            unauthorized("wrong_audience"),
        ),
        (
            "Graph token with a header nonce",
            bearer(devstack.sign(
                &with(
                    &header,
                    "nonce",
                    json!("AQABAAAAAAD--DLA3VO7QrddgJg7WevrXyz"),
                ),
                &with(&claims, "aud", json!("https://graph.microsoft.com")),
            )),
            unauthorized("forbidden_header"),
        ),
        (
            "issuer of another authority",
            bearer(signed_with(&server, |c| {
                c["iss"] = format!(
                    "https://login.microsoftonline.com/{}/v2.0",
                    devstack.tenant_id()
                )
                .into()
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "v1 issuer, not enabled",
            bearer(signed_with(&server, |c| {
                c["iss"] = format!("https://sts.windows.net/{}/", devstack.tenant_id()).into()
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "issuer and tid of another tenant",
            bearer(signed_with(&server, |c| {
                let other = "72f988bf-86f1-41af-91ab-2d7cd011db47";
                c["iss"] = format!("{}/{other}/v2.0", devstack.base_url()).into();
                c["tid"] = other.into();
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "tid of another tenant under our issuer",
            bearer(signed_with(&server, |c| {
                c["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47".into()
            })),
            unauthorized("wrong_tenant"),
        ),
        (
            "expired an hour ago",
            bearer(signed_with(&server, |c| c["exp"] = (now() - 3600).into())),
            unauthorized("expired"),
        ),
        (
            "valid from an hour from now",
            bearer(signed_with(&server, |c| c["nbf"] = (now() + 3600).into())),
            unauthorized("not_yet_valid"),
        ),
        (
            "issued an hour from now",
            bearer(signed_with(&server, |c| c["iat"] = (now() + 3600).into())),
            unauthorized("issued_in_the_future"),
        ),
        (
            "crit naming an extension this server does not understand",
            bearer(devstack.sign(
                &with(
                    &with(&header, "crit", json!(["urn:example:must-understand"])),
                    "urn:example:must-understand",
                    json!(true),
                ),
                &claims,
            )),
            unauthorized("critical_header"),
        ),
        (
            "crit naming a registered claim",
            bearer(devstack.sign(&with(&header, "crit", json!(["exp"])), &claims)),
            unauthorized("critical_header"),
        ),
        (
            "oid that is not a GUID",
            bearer(signed_with(&server, |c| {
                c["oid"] = "adele@contoso.example".into()
            })),
            unauthorized("missing_claim"),
        ),
        (
            "oversized token",
            bearer(signed_with(&server, |c| {
                c["padding"] = "x".repeat(20 * 1024).into()
            })),
            unauthorized("token_too_large"),
        ),
        (
            "scope missing",
            bearer(devstack.user_token("adele", &["other.scope"])),
            forbidden("missing_scope"),
        ),
        (
            "no scp claim left is app-only, and app-only is not admitted",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("scp"))
            })),
            forbidden("app_only_not_allowed"),
        ),
        (
            "scope only as a prefix of another",
            bearer(devstack.user_token("adele", &["user_impersonation_all"])),
            forbidden("missing_scope"),
        ),
        (
            "scope in other case",
            bearer(devstack.user_token("adele", &["USER_IMPERSONATION"])),
            forbidden("missing_scope"),
        ),
        (
            "app-only token, app-only not admitted",
            bearer(devstack.app_token(DAEMON_CLIENT_ID, &[MCP_OPERATOR])),
            forbidden("app_only_not_allowed"),
        ),
    ];
    assert!(cases.len() >= 35, "{} cases", cases.len());
    let fetches_before = devstack.jwks_fetches();
    for (case, authorization, expected) in cases {
        assert_refused(&server, case, post_with(&server, authorization), expected).await;
    }
    for claim in REQUIRED_CLAIMS {
        let token = signed_with(&server, |c| drop(c.as_object_mut().unwrap().remove(claim)));
        assert_refused(
            &server,
            &format!("no {claim}"),
            post_with(&server, bearer(token)),
            unauthorized("missing_claim"),
        )
        .await;
    }

    // Nothing the forged headers pointed at was ever fetched.
    assert!(
        devstack
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/attacker")),
        "a key URL from a token header was followed"
    );
    // The unknown kids above cost at most one refresh (cooldown).
    assert!(
        devstack.jwks_fetches() <= fetches_before + 1,
        "{} JWKS fetches during the cases",
        devstack.jwks_fetches() - fetches_before
    );
}

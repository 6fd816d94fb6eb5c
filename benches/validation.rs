//! Micro-benchmark of the token validator itself: what full validation of one Entra token costs
//! per request (header checks, key lookup in the warm cache, RS256 signature, claims), and what
//! refusing a token costs. Run with `cargo bench --bench validation`; figures go to
//! docs/PERFORMANCE.md. There is no switch that turns validation off: this measures the real
//! validator against a local issuer.

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use devstack::{Devstack, tenant};
use http::HeaderMap;
use m365_mcp::{
    config::Config,
    inbound_auth::{keys::SigningKeys, token::TokenValidator},
    local_mode::handler_env,
    outbound::OutboundHttp,
};

const SAMPLES: usize = 30;
const PER_SAMPLE: usize = 2_000;

fn headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

/// Median and best time per validation over `SAMPLES` batches.
fn measure(
    runtime: &tokio::runtime::Runtime,
    validator: &TokenValidator,
    headers: &HeaderMap,
) -> (Duration, Duration) {
    let mut per_call: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            runtime.block_on(async {
                for _ in 0..PER_SAMPLE {
                    let _ = black_box(validator.validate(black_box(headers)).await);
                }
            });
            started.elapsed() / PER_SAMPLE as u32
        })
        .collect();
    per_call.sort();
    (per_call[SAMPLES / 2], per_call[0])
}

fn main() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let env = handler_env(devstack.handler_settings());
    let config = Config::from_lookup(&|name| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap();
    let auth = Arc::new(config.auth.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = SigningKeys::new(
        OutboundHttp::default(),
        auth.v2_issuer(),
        auth.jwks_refresh_cooldown,
    );
    let validator = TokenValidator::new(auth, keys);

    let valid = headers(&devstack.user_token(tenant::DEFAULT_USER, &[tenant::USER_IMPERSONATION]));
    assert!(
        runtime.block_on(validator.validate(&valid)).is_ok(),
        "warm-up validates"
    );
    let mut expired_claims =
        devstack.user_claims(tenant::DEFAULT_USER, &[tenant::USER_IMPERSONATION]);
    expired_claims["exp"] = 1_000_000.into();
    let expired = headers(&devstack.sign(&devstack.token_header(), &expired_claims));
    let wrong_alg = headers("eyJhbGciOiJIUzI1NiJ9.e30.c2ln");

    println!("## Token validation, per request ({SAMPLES} samples of {PER_SAMPLE})\n");
    println!("| token | median | best |\n|---|---|---|");
    for (name, headers) in [
        ("valid: full validation (accepted)", &valid),
        ("expired: signature checked, then refused", &expired),
        ("HS256 header: refused before any cryptography", &wrong_alg),
    ] {
        let (median, best) = measure(&runtime, &validator, headers);
        println!(
            "| {name} | {:.1} µs | {:.1} µs |",
            median.as_secs_f64() * 1e6,
            best.as_secs_f64() * 1e6
        );
    }
}

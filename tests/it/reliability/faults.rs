//! The fault matrix through the real binary: one test per upstream, one fresh handler per
//! fault. Each cell: warm what the row needs, make the upstream fail, make the affected call
//! and, while it is in flight, the unrelated ones; check the affected call's outcome against
//! [`super::matrix`]; clear the fault and wait (a liveness bound) until the call is served
//! again. Nothing here measures a time: a hanging upstream never answers, so an answer at all
//! shows the call was cut off at its deadline, and the unrelated requests are checked while the
//! stand-in still holds the affected one.

use std::time::Duration;

use devstack::Upstream;
use reqwest::StatusCode;
use serde_json::json;

use super::{
    matrix::{self, Expect, FAULTS, Fault, TOOL_DEADLINE_SECONDS},
    rig::{Answer, Rig},
};
use crate::harness::*;

/// The settings of a row's handler.
fn settings(upstream: Upstream) -> Vec<(&'static str, String)> {
    let mut settings = vec![
        (
            MCP_TOOL_DEADLINE_SECONDS.name,
            TOOL_DEADLINE_SECONDS.to_string(),
        ),
        // An unknown key may be looked for again after a second (the least allowed).
        (MCP_JWKS_REFRESH_COOLDOWN_SECONDS.name, "1".to_owned()),
    ];
    if upstream == Upstream::KeyVault {
        settings.push((
            MCP_GATEWAY_PROOF_HEADER.name,
            super::rig::PROOF_HEADER.into(),
        ));
        settings.push((
            MCP_GATEWAY_PROOF_SECRET_NAME.name,
            "mcp-gateway-proof".into(),
        ));
    }
    settings
}

/// The tokens a cell uses.
struct Tokens {
    /// Used while warming up: its Graph token and its signing key are cached.
    warm: String,
}

/// Warms the caches the row's unrelated requests rely on, and leaves cold what the affected
/// call needs.
async fn warm(rig: &Rig, upstream: Upstream) -> Tokens {
    let warm = rig.token("adele");
    let info = rig.call(&warm, "server_info", json!({})).await;
    assert!(info.served(), "{info:?}");
    match upstream {
        Upstream::Discovery | Upstream::Jwks => {
            // Tokens from now on name a key the server has not cached: the next such token makes
            // the server look again.
            rig.devstack.rotate_signing_key();
        }
        Upstream::TokenEndpoint | Upstream::KeyVault | Upstream::Graph => {
            let profile = rig.call(&warm, "get_my_profile", json!({})).await;
            assert!(profile.served(), "{profile:?}");
        }
        Upstream::ManagedIdentity => {}
    }
    Tokens { warm }
}

/// The call the fault affects.
async fn affected(rig: &Rig, upstream: Upstream, tokens: &Tokens) -> Answer {
    match upstream {
        // A fresh token: signed with the new key.
        Upstream::Discovery | Upstream::Jwks => {
            rig.call(&rig.token("adele"), "server_info", json!({}))
                .await
        }
        // A fresh token: not exchanged yet.
        Upstream::TokenEndpoint | Upstream::ManagedIdentity => {
            rig.call(&rig.token("adele"), "get_my_profile", json!({}))
                .await
        }
        Upstream::KeyVault => {
            rig.call(&tokens.warm, "search_mail", json!({ "max_results": 1 }))
                .await
        }
        Upstream::Graph => rig.call(&tokens.warm, "get_my_profile", json!({})).await,
    }
}

/// The requests that must stay answered while the fault stands; panics if one is not.
async fn unrelated(rig: &Rig, upstream: Upstream, tokens: &Tokens) {
    assert!(rig.serving(), "GET / is answered");
    let info = rig.call(&tokens.warm, "server_info", json!({})).await;
    assert!(info.served(), "server_info: {info:?}");
    match upstream {
        Upstream::TokenEndpoint | Upstream::KeyVault => {
            let profile = rig.call(&tokens.warm, "get_my_profile", json!({})).await;
            assert!(profile.served(), "get_my_profile, cached: {profile:?}");
        }
        Upstream::ManagedIdentity | Upstream::Graph => {
            let list = rig.post(&tokens.warm, &tools_list()).await;
            assert_eq!(list.status, StatusCode::OK, "tools/list: {list:?}");
            assert!(list.body["result"]["tools"].is_array(), "{list:?}");
        }
        Upstream::Discovery | Upstream::Jwks => {}
    }
}

/// Whether the affected call's answer is what the matrix says.
fn matches(answer: &Answer, expect: Expect) -> bool {
    match expect {
        Expect::Served => answer.served(),
        Expect::Refused {
            status,
            reason,
            retry_after,
        } => {
            answer.status.as_u16() == status
                && answer.reason.as_deref() == Some(reason)
                && answer.retry_after.is_some() == retry_after
        }
        Expect::ToolError(text) => answer
            .tool_error()
            .is_some_and(|error| error.contains(text)),
        Expect::ToolErrorEither(one, other) => answer
            .tool_error()
            .is_some_and(|error| error.contains(one) || error.contains(other)),
    }
}

/// A short description of an answer, for the printed table and failure messages.
fn describe(answer: &Answer) -> String {
    if answer.served() {
        return "served".to_owned();
    }
    if let Some(error) = answer.tool_error() {
        return format!("tool error: {error}");
    }
    format!(
        "{}{} {}",
        answer.status.as_u16(),
        if answer.retry_after.is_some() {
            " + Retry-After"
        } else {
            ""
        },
        answer.reason.as_deref().unwrap_or("(no reason)")
    )
}

/// One cell: returns what the affected call got.
async fn cell(upstream: Upstream, fault: Fault) -> Answer {
    let settings = settings(upstream);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rig = Rig::start(&settings);
    let tokens = warm(&rig, upstream).await;

    match fault.standing(upstream) {
        Some(standing) => rig.set_fault(upstream, Some(standing)),
        None => rig.door(upstream).shut(),
    }
    let (answer, ()) = tokio::join!(affected(&rig, upstream, &tokens), async {
        if fault == Fault::Hang {
            let holding = std::time::Instant::now() + Duration::from_secs(20);
            while rig.devstack.held_requests(upstream) == 0 {
                assert!(
                    std::time::Instant::now() < holding,
                    "{upstream:?}: the stand-in never held the affected request"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        unrelated(&rig, upstream, &tokens).await;
        if fault == Fault::Hang {
            assert!(
                rig.devstack.held_requests(upstream) > 0,
                "{upstream:?}: the unrelated requests were answered only once the stand-in \
                 let the affected one go"
            );
        }
    });
    if fault == Fault::Hang {
        // It got an answer while the stand-in still has not answered: it was cut off.
        assert!(
            rig.devstack.upstream_fault_hits(upstream) > 0,
            "{upstream:?}: the fault was never met"
        );
    }
    assert!(
        rig.serving(),
        "{upstream:?}, {fault:?}: the process stopped serving"
    );

    // The fault clears; the call is served again (a liveness bound, nothing timed).
    match fault.standing(upstream) {
        Some(_) => rig.set_fault(upstream, None),
        None => rig.door(upstream).open(),
    }
    let recovering = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let again = affected(&rig, upstream, &tokens).await;
        if again.served() {
            break;
        }
        assert!(
            std::time::Instant::now() < recovering,
            "{upstream:?}, {fault:?}: not served again once the fault cleared: {}\n{}",
            describe(&again),
            rig.handler.output.all()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = rig.handler.output.all();
    assert!(!output.contains("panicked"), "a panic:\n{output}");
    answer
}

/// Runs every fault of `upstream`'s row (each cell in its own task, so the blocking parts of
/// starting a handler hold up no other cell), prints the row, and fails on any cell that differs
/// from the matrix.
async fn row(upstream: Upstream) {
    let row = matrix::row(upstream);
    // The cells are independent (a handler and a devstack each) and mostly wait: run them
    // together.
    let cells = FAULTS.map(|fault| tokio::spawn(cell(upstream, fault)));
    let mut answers = Vec::new();
    for cell in cells {
        answers.push(
            cell.await
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic())),
        );
    }
    let mut failures = Vec::new();
    let mut printed = format!("\n{}:\n", row.name);
    for ((fault, expect), answer) in FAULTS.into_iter().zip(row.outcomes).zip(answers) {
        let ok = matches(&answer, expect);
        printed.push_str(&format!(
            "  {:<44} {} {}\n",
            fault.title(),
            if ok { "ok  " } else { "FAIL" },
            describe(&answer)
        ));
        if !ok {
            failures.push(format!(
                "{fault:?}: expected {}, got {}",
                expect.render(),
                describe(&answer)
            ));
        }
    }
    println!("{printed}");
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        row.name,
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuer_discovery() {
    row(Upstream::Discovery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jwks() {
    row(Upstream::Jwks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_endpoint() {
    row(Upstream::TokenEndpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn managed_identity() {
    row(Upstream::ManagedIdentity).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_vault() {
    row(Upstream::KeyVault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graph() {
    row(Upstream::Graph).await;
}

/// The matrix as the tests check it, printed, and the same in docs/RELIABILITY.md.
#[test]
fn the_documented_matrix_is_the_tested_one() {
    let table = matrix::render();
    println!("{table}");
    let doc = std::fs::read_to_string(repo_root().join("docs/RELIABILITY.md")).unwrap();
    assert!(
        doc.contains(&table),
        "docs/RELIABILITY.md does not show the tested matrix; paste this there:\n\n{table}"
    );
}

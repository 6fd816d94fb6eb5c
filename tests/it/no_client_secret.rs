//! This product holds no client secret: the on-behalf-of exchange authenticates with the managed
//! identity's federated credential, Key Vault with the managed identity. This test fails if code,
//! configuration, infrastructure or documentation introduce one: a client secret setting or
//! form field with a value, a password credential on an app registration, or a credential type
//! built from a secret.

use std::process::Command;

use crate::harness::repo_root;

/// Names under which a client secret is passed, compared without case, `_` or `-`.
const SECRET_NAMES: [&str; 4] = [
    "clientsecret",
    "azureclientsecret",
    "passwordcredentials",
    "clientsecretcredential",
];

/// Every finding in `text`: a secret name followed by an assignment (`=`, `:`), a call, or a
/// struct literal, as opposed to prose that says there is none.
fn findings(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let squashed: String = line
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        for name in SECRET_NAMES {
            let mut rest = squashed.as_str();
            while let Some(at) = rest.find(name) {
                let after = rest[at + name.len()..].trim_start_matches(['"', '\'', ' ', '`']);
                let uses = after.starts_with('=')
                    || after.starts_with(':')
                    || after.starts_with(',')
                    || after.starts_with('(')
                    || after.starts_with('{')
                    || after.starts_with("::");
                if uses {
                    found.push(line.trim().to_owned());
                }
                rest = &rest[at + name.len()..];
            }
        }
    }
    found
}

fn tracked_files() -> Vec<String> {
    let output = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(repo_root())
        .output()
        .expect("git lists the repository's files");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_scanner_recognises_a_client_secret_in_every_form_it_takes() {
    for introduced in [
        "AZURE_CLIENT_SECRET=abc123",
        "  \"client_secret\": \"abc\"",
        "form.push((\"client_secret\", secret));",
        "let credential = ClientSecretCredential::new(tenant, id, secret, None);",
        "passwordCredentials: [ { displayName: 'ci' } ]",
        "clientSecret: listKeys(app).value",
        "MCP_CLIENT_SECRET: 'x'",
    ] {
        assert!(!findings(introduced).is_empty(), "missed: {introduced}");
    }
    for prose in [
        "No client secret and no certificate: the managed identity is the credential.",
        "Nothing in this deployment holds a client secret.",
        "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "the federated credential replaces a client secret",
    ] {
        assert!(findings(prose).is_empty(), "false alarm: {prose}");
    }
}

#[test]
fn no_code_configuration_infrastructure_or_document_holds_a_client_secret() {
    let mut scanned = 0;
    let mut violations = Vec::new();
    for file in tracked_files() {
        // The Entra stand-in speaks Entra's token protocol, whose form has a `client_secret`
        // field: it parses the field to refuse it, as Entra does for public clients.
        let entra_protocol = file.starts_with("devstack/src/issuer/");
        // Tests name these fields to prove they are absent; they are not the product.
        let test = file.starts_with("tests/");
        if test || file.ends_with("package-lock.json") || entra_protocol {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(repo_root().join(&file)) else {
            continue; // binary
        };
        scanned += 1;
        for finding in findings(&text) {
            violations.push(format!("{file}: {finding}"));
        }
    }
    assert!(scanned > 50, "only {scanned} files scanned");
    assert!(
        violations.is_empty(),
        "client secrets introduced:\n{}",
        violations.join("\n")
    );
}

//! Tests that need a process environment of their own: `azure_identity`'s managed identity
//! credential reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` from the process environment, with
//! no way to pass them in, and setting them in a test binary would race every other test that
//! reads the environment. Such a test runs an `#[ignore]`d test of the same binary in a child
//! process with the environment it needs, and asserts on what the child prints.

use std::process::Command;

/// Runs the ignored test `name` (a path like `devstack::x::tests::child`) alone in a new
/// process of this test binary, with `env` added to its environment, and returns its stdout.
///
/// `azure_identity`'s managed identity credential reads `IDENTITY_ENDPOINT` and
/// `IDENTITY_HEADER` from the process environment, with no way to pass them in. Setting them in
/// this process would race every other test that reads the environment; a child process gets
/// its own. The child prints what the parent asserts on.
pub fn run_child(name: &str, env: &[(String, String)]) -> String {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        // Only what the test gives it: no managed identity inherited from the shell.
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the child test {name} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test {name} did not run\n{stdout}"
    );
    stdout
}

/// The value after `key=` on a line the child printed.
pub fn child_value<'a>(stdout: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}=");
    // The harness prints the first line after the test's name: `test … ... key=value`.
    stdout
        .lines()
        .find_map(|line| {
            let at = line.find(prefix.as_str())?;
            (at == 0 || line[..at].ends_with(' ')).then(|| &line[at + prefix.len()..])
        })
        .unwrap_or_else(|| panic!("the child printed no {key}=\n{stdout}"))
}

/// The name `run_child` needs for a test in the module at `module_path` (`module_path!()`).
pub fn test_name(module_path: &str, test: &str) -> String {
    let (_crate, path) = module_path.split_once("::").expect("a crate path");
    format!("{path}::{test}")
}

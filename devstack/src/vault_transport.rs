//! An HTTP transport for the Key Vault SDK that delivers a real-looking vault's requests to the
//! devstack.
//!
//! The SDK will not talk to the devstack's plain `http://127.0.0.1:…` directly, for two good
//! reasons: its bearer-token policy refuses to send a token anywhere but over TLS, and its
//! challenge handling refuses a vault whose host does not end in `.vault.azure.net` (the
//! resource the challenge names), so a look-alike vault cannot harvest tokens. Both checks
//! look at the request URL.
//!
//! So the handler keeps its https vault URL (`https://devstack.vault.azure.net/`) and, in
//! devstack builds with `MCP_DEVSTACK_VAULT_ADDR` set, gives the `SecretClient` this transport.
//! It sits at the very end of the SDK's pipeline, after every policy has seen the real URL,
//! and sends the bytes to `http://{addr}` with the path and query unchanged and the `Host`
//! header still naming the vault. Nothing else changes: the challenge, the token request and
//! the retry all happen as they would against Azure.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport};

/// A transport for `SecretClientOptions::client_options.transport` that sends every request to
/// `addr` over plain HTTP, keeping the path, query and body, and the original host in `Host`.
pub fn vault_transport(addr: SocketAddr) -> Transport {
    Transport::new(vault_http_client(addr))
}

/// The HTTP client inside [`vault_transport`], for a caller that wraps it in a transport of its
/// own (the handler caps the size of every answer it reads).
pub fn vault_http_client(addr: SocketAddr) -> Arc<dyn HttpClient> {
    Arc::new(RedirectToDevstack {
        addr,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds"),
    })
}

#[derive(Debug)]
struct RedirectToDevstack {
    addr: SocketAddr,
    client: reqwest::Client,
}

type Pending<'a> = Pin<Box<dyn Future<Output = azure_core::Result<AsyncRawResponse>> + Send + 'a>>;

// `HttpClient` is an `async_trait`; this is the method that macro would generate, written out
// so the devstack needs no proc-macro crate of its own.
impl HttpClient for RedirectToDevstack {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 Request,
    ) -> Pending<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let redirected = redirect(request, self.addr);
            self.client.execute_request(&redirected).await
        })
    }
}

/// `request` addressed to `http://{addr}` with `Host` set to where it was going.
fn redirect(request: &Request, addr: SocketAddr) -> Request {
    let mut redirected = request.clone();
    let host = match (request.url().host_str(), request.url().port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    let url = redirected.url_mut();
    url.set_scheme("http")
        .expect("https and http are both special schemes");
    url.set_ip_host(addr.ip()).expect("an https URL has a host");
    url.set_port(Some(addr.port()))
        .expect("an http URL has a port");
    redirected.insert_header("host", host);
    redirected
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use azure_core::http::{ClientOptions, Method, Url};
    use azure_identity::{
        ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    };
    use azure_security_keyvault_secrets::{
        ResourceExt, SecretClient, SecretClientOptions, models::SecretClientGetSecretOptions,
    };
    use futures::TryStreamExt;

    use super::*;
    use crate::{
        tenant::{KEY_VAULT_RESOURCE, MANAGED_IDENTITY_CLIENT_ID},
        tests::{child_env, child_value, run_child, start, test_name},
    };

    #[test]
    fn the_key_vault_sdk_reads_secrets_through_the_managed_identity_and_this_transport() {
        let devstack = start();
        // More versions than Key Vault's page of 25, so the SDK must follow a next link.
        let versions: Vec<String> = (0..27)
            .map(|n| devstack.set_secret("rotating", &format!("value-{n}")))
            .collect();

        let mut env = child_env(&devstack);
        env.push(("DEVSTACK_FIRST_VERSION".to_owned(), versions[0].clone()));
        let stdout = run_child(&test_name(module_path!(), "sdk_child"), &env);

        assert_eq!(
            child_value(&stdout, "gateway_proof"),
            devstack.gateway_proof()
        );
        assert_eq!(child_value(&stdout, "first_version"), "value-0");
        let mut listed: Vec<&str> = child_value(&stdout, "versions").split(',').collect();
        let mut expected: Vec<&str> = versions.iter().map(String::as_str).collect();
        listed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(listed, expected);
        assert!(
            child_value(&stdout, "plain_http").contains("non-TLS"),
            "the SDK refuses to authorize plain http: {stdout}"
        );
        assert!(
            child_value(&stdout, "look_alike").contains("doesn't match"),
            "the SDK still checks the vault's host against the challenge: {stdout}"
        );

        let requests = devstack.requests();
        let identity: Vec<_> = requests
            .iter()
            .filter(|r| r.service == "managed_identity")
            .collect();
        assert_eq!(identity.len(), 1, "one token, cached by the credential");
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(identity[0].query.as_deref().unwrap().as_bytes())
                .into_owned()
                .collect();
        assert_eq!(query["resource"], KEY_VAULT_RESOURCE);
        assert_eq!(query["client_id"], MANAGED_IDENTITY_CLIENT_ID);

        let vault: Vec<_> = requests
            .iter()
            .filter(|r| {
                r.service == "key_vault" && r.header("host") == Some("devstack.vault.azure.net")
            })
            .collect();
        assert_eq!(
            vault.len(),
            5,
            "the challenge, the secret, two pages of versions, one version"
        );
        assert!(
            vault[0].header("authorization").is_none(),
            "the first request asks for the challenge"
        );
        assert_eq!(vault[0].path, "/secrets/mcp-gateway-proof/");
        let bearer = vault[1].header("authorization").unwrap();
        assert!(bearer.starts_with("Bearer ey"), "{bearer}");
        assert!(
            vault[1..]
                .iter()
                .all(|r| r.header("authorization") == Some(bearer))
        );
        assert!(vault.iter().all(|r| {
            r.query
                .as_deref()
                .unwrap()
                .contains("api-version=2025-07-01")
        }));
        assert!(
            vault[3].query.as_deref().unwrap().contains("skiptoken="),
            "the SDK followed the next link"
        );

        let look_alike: Vec<_> = requests
            .iter()
            .filter(|r| r.header("host") == Some("devstack.vault.example"))
            .collect();
        assert_eq!(
            look_alike.len(),
            1,
            "only the unauthenticated first request"
        );
        assert!(
            look_alike[0].header("authorization").is_none(),
            "no token for a look-alike"
        );
    }

    #[test]
    #[ignore = "run by the Key Vault SDK test in a child process, whose environment points the \
                credential at a devstack"]
    fn sdk_child() {
        let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
        let addr: SocketAddr = env("DEVSTACK_VAULT_ADDR").parse().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let credential =
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: Some(UserAssignedId::ClientId(env("DEVSTACK_MI_CLIENT_ID"))),
                    ..ManagedIdentityCredentialOptions::default()
                }))
                .unwrap();
            let options = || SecretClientOptions {
                client_options: ClientOptions {
                    transport: Some(vault_transport(addr)),
                    ..ClientOptions::default()
                },
                ..SecretClientOptions::default()
            };
            let client = SecretClient::new(
                &env("DEVSTACK_VAULT_URL"),
                credential.clone(),
                Some(options()),
            )
            .unwrap();

            let proof = client
                .get_secret("mcp-gateway-proof", None)
                .await
                .unwrap()
                .into_model()
                .unwrap();
            println!("gateway_proof={}", proof.value.unwrap());

            let mut versions = Vec::new();
            let mut pager = client
                .list_secret_properties_versions("rotating", None)
                .unwrap();
            while let Some(properties) = pager.try_next().await.unwrap() {
                assert_eq!(properties.attributes.as_ref().unwrap().enabled, Some(true));
                versions.push(properties.resource_id().unwrap().version.unwrap());
            }
            println!("versions={}", versions.join(","));
            let first = client
                .get_secret(
                    "rotating",
                    Some(SecretClientGetSecretOptions {
                        secret_version: Some(env("DEVSTACK_FIRST_VERSION")),
                        ..SecretClientGetSecretOptions::default()
                    }),
                )
                .await
                .unwrap()
                .into_model()
                .unwrap();
            println!("first_version={}", first.value.unwrap());

            let plain = SecretClient::new(&format!("http://{addr}/"), credential.clone(), None)
                .unwrap()
                .get_secret("mcp-gateway-proof", None)
                .await
                .expect_err("no token over plain http");
            println!("plain_http={}", format!("{plain:?}").replace('\n', " "));

            let look_alike = SecretClient::new(
                "https://devstack.vault.example/",
                credential.clone(),
                Some(options()),
            )
            .unwrap()
            .get_secret("mcp-gateway-proof", None)
            .await
            .expect_err("the challenge resource does not match the host");
            println!(
                "look_alike={}",
                format!("{look_alike:?}").replace('\n', " ")
            );
        });
    }

    #[test]
    fn only_the_destination_changes() {
        let mut request = Request::new(
            Url::parse(
                "https://devstack.vault.azure.net/secrets/mcp-gateway-proof/?api-version=2025-07-01",
            )
            .unwrap(),
            Method::Get,
        );
        request.insert_header("authorization", "Bearer token");
        let redirected = redirect(&request, "127.0.0.1:7072".parse().unwrap());
        assert_eq!(
            redirected.url().as_str(),
            "http://127.0.0.1:7072/secrets/mcp-gateway-proof/?api-version=2025-07-01"
        );
        let header = |name: &'static str| {
            redirected
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
                .map(str::to_owned)
        };
        assert_eq!(header("host").as_deref(), Some("devstack.vault.azure.net"));
        assert_eq!(header("authorization").as_deref(), Some("Bearer token"));
        assert_eq!(
            request.url().scheme(),
            "https",
            "the SDK's request is untouched"
        );
    }

    #[test]
    fn an_explicit_port_stays_in_the_host_header() {
        let request = Request::new(
            Url::parse("https://devstack.vault.azure.net:8443/secrets").unwrap(),
            Method::Get,
        );
        let redirected = redirect(&request, "[::1]:9000".parse().unwrap());
        assert_eq!(redirected.url().as_str(), "http://[::1]:9000/secrets");
        assert_eq!(
            redirected
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static("host")),
            Some("devstack.vault.azure.net:8443")
        );
    }
}

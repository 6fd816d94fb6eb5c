//! Redirect URIs: which a client may register, and when an authorization request's
//! `redirect_uri` is one of them.
//!
//! - **Shape** (every client): `https`, or `http` on a loopback host (127.0.0.1, [::1],
//!   localhost) for native apps (RFC 8252 §7.3); absolute, no fragment, no user info, written in
//!   canonical form (what a browser would navigate to is what was registered). Private-use
//!   schemes (`cursor://…`) are refused: any app on a device can claim them.
//! - **Policy** (dynamically registered clients only): the operator's list
//!   (`MCP_BROKER_REDIRECT_URIS`), by default loopback and the documented callbacks of VS Code,
//!   Claude and ChatGPT. A Client ID Metadata Document is vouched for by its https host, which
//!   the consent page names next to the redirect.
//! - **Matching**: the exact string registered. The one exception is RFC 8252's: a loopback
//!   redirect may use any port, because a native app picks a free one when it starts (VS Code
//!   registers `http://127.0.0.1/` and comes back on `http://127.0.0.1:<port>/`). Scheme, host,
//!   path and query must still be identical.

use url::{Host, Url};

use crate::config::RedirectRule;

/// Longest redirect URI accepted.
pub const MAX_REDIRECT_URI: usize = 512;

/// Checks a redirect URI's shape; the parsed URI if it is acceptable.
pub fn check_shape(uri: &str) -> Result<Url, String> {
    if uri.len() > MAX_REDIRECT_URI {
        return Err(format!(
            "a redirect URI is longer than {MAX_REDIRECT_URI} characters"
        ));
    }
    let url = Url::parse(uri).map_err(|_| "a redirect URI is not an absolute URI".to_owned())?;
    if url.fragment().is_some() {
        return Err("a redirect URI must not contain a fragment".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a redirect URI must not contain user information".to_owned());
    }
    match url.scheme() {
        "https" => {
            if url.as_str() != uri {
                return Err(
                    "a redirect URI must be written in canonical form (lower-case host, no \
                     default port, no dot segments)"
                        .to_owned(),
                );
            }
        }
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(
                "a redirect URI must use https (http only on a loopback address)".to_owned(),
            );
        }
        _ => {
            return Err(
                "a redirect URI must use https or loopback http: custom schemes can be claimed \
                 by any app"
                    .to_owned(),
            );
        }
    }
    Ok(url)
}

/// `http` on 127.0.0.1, [::1] or localhost.
pub fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// Whether the operator's policy admits `uri` (already shape-checked) for a dynamically
/// registered client.
pub fn admitted(policy: &[RedirectRule], uri: &Url) -> bool {
    policy.iter().any(|rule| match rule {
        RedirectRule::Loopback => is_loopback(uri),
        RedirectRule::Exact(exact) => uri.as_str() == exact,
        RedirectRule::Prefix(prefix) => uri.scheme() == "https" && uri.as_str().starts_with(prefix),
    })
}

/// Whether `requested` is the registered `registered`: the same string, or for loopback the
/// same URI on another port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(registered), Ok(requested)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    is_loopback(&registered)
        && is_loopback(&requested)
        && registered.host() == requested.host()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
        && requested.fragment().is_none()
        && requested.username().is_empty()
        && requested.password().is_none()
}

/// The registered URI `requested` stands for, if any.
pub fn find<'a>(registered: &'a [String], requested: &str) -> Option<&'a str> {
    registered
        .iter()
        .find(|uri| matches(uri, requested))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_REDIRECTS, parse_redirect_rule};

    fn policy() -> Vec<RedirectRule> {
        DEFAULT_REDIRECTS
            .iter()
            .map(|entry| parse_redirect_rule(entry).unwrap())
            .collect()
    }

    #[test]
    fn shapes() {
        for good in [
            "https://vscode.dev/redirect",
            "http://127.0.0.1/",
            "http://127.0.0.1:33418/",
            "http://localhost:3000/callback",
            "http://[::1]:8080/cb?x=1",
        ] {
            assert!(check_shape(good).is_ok(), "{good}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://VSCODE.dev/redirect",
            "https://vscode.dev:443/redirect",
            "https://vscode.dev/a/../redirect",
            "https://vscode.dev/redirect#frag",
            "https://user@vscode.dev/redirect",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "javascript:alert(1)",
            "/relative",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_shape(bad).is_err(), "{bad}");
        }
        assert!(check_shape(&format!("https://a.example/{}", "x".repeat(600))).is_err());
    }

    #[test]
    fn the_default_policy_admits_loopback_and_the_documented_callbacks_only() {
        let policy = policy();
        for good in [
            "http://127.0.0.1:33418/",
            "http://localhost:6274/oauth/callback",
            "https://vscode.dev/redirect",
            "https://insiders.vscode.dev/redirect",
            "https://claude.ai/api/mcp/auth_callback",
            "https://claude.com/api/mcp/auth_callback",
            "https://chatgpt.com/connector_platform_oauth_redirect",
        ] {
            assert!(admitted(&policy, &check_shape(good).unwrap()), "{good}");
        }
        for bad in [
            "https://evil.example/cb",
            "https://vscode.dev/redirect/evil",
            "https://vscode.dev.evil.example/redirect",
            "https://claude.ai/api/mcp/auth_callback?next=https://evil.example",
        ] {
            assert!(!admitted(&policy, &check_shape(bad).unwrap()), "{bad}");
        }
        let prefix = vec![parse_redirect_rule("https://app.contoso.com/oauth/*").unwrap()];
        assert!(admitted(
            &prefix,
            &check_shape("https://app.contoso.com/oauth/cb").unwrap()
        ));
        assert!(!admitted(
            &prefix,
            &check_shape("https://app.contoso.com/other").unwrap()
        ));
    }

    #[test]
    fn matching_is_exact_except_for_loopback_ports() {
        assert!(matches(
            "https://vscode.dev/redirect",
            "https://vscode.dev/redirect"
        ));
        assert!(!matches(
            "https://vscode.dev/redirect",
            "https://vscode.dev/redirect/"
        ));
        assert!(!matches(
            "https://vscode.dev/redirect",
            "https://vscode.dev/redirect?x=1"
        ));
        assert!(!matches(
            "https://vscode.dev/redirect",
            "https://VSCODE.dev/redirect"
        ));
        // VS Code registers these and comes back on another port.
        assert!(matches("http://127.0.0.1/", "http://127.0.0.1:54321/"));
        assert!(matches("http://127.0.0.1:33418/", "http://127.0.0.1:1234/"));
        assert!(matches(
            "http://localhost:3000/callback",
            "http://localhost:4000/callback"
        ));
        assert!(!matches(
            "http://127.0.0.1/",
            "http://127.0.0.1:54321/other"
        ));
        assert!(!matches("http://127.0.0.1/", "http://localhost:54321/"));
        assert!(!matches("http://127.0.0.1/", "http://127.0.0.2:54321/"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#x"));
        assert!(!matches("http://127.0.0.1/cb", "https://127.0.0.1:5/cb"));
        let registered = vec![
            "https://vscode.dev/redirect".to_owned(),
            "http://127.0.0.1/".to_owned(),
        ];
        assert_eq!(
            find(&registered, "http://127.0.0.1:9/"),
            Some("http://127.0.0.1/")
        );
        assert_eq!(find(&registered, "https://evil.example/"), None);
    }
}

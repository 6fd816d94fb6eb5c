//! Paging continuations (src/graph/paging.rs). What a cursor carries resolves only to a URL
//! under the Graph API root, whatever it says; and a next link Graph hands out under the API
//! root becomes a continuation that resolves back to that very link, so paging never breaks.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use m365_mcp::fuzzing;
use url::Url;

static BASE: LazyLock<Url> = LazyLock::new(|| "https://graph.microsoft.com".parse().unwrap());
const ROOT: &str = "https://graph.microsoft.com/v1.0/";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(url) = fuzzing::continuation(&BASE, text) {
        assert!(url.as_str().starts_with(ROOT), "{text:?} -> {url}");
    }
    let link = format!("{ROOT}{text}");
    if let Some(continuation) = fuzzing::next_link(&BASE, &link) {
        let resolved = fuzzing::continuation(&BASE, &continuation);
        let expected = Url::parse(&link).expect("a link handed out parses");
        assert_eq!(
            resolved.as_ref(),
            Some(&expected),
            "{link:?} -> {continuation:?}"
        );
    }
});

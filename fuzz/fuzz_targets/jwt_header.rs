//! An `Authorization` header through the checks made before any key is looked up
//! (src/inbound_auth/token.rs): bearer scheme, token shape, JOSE header. The first byte chooses
//! whether the rest is the header value itself or the JSON of a JOSE header (so the fuzzer need
//! not learn base64url). A key id comes out only for an RS256 header that names no key
//! location, no `nonce` and no `crit`.
#![no_main]

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use m365_mcp::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let authorization = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        format!("Bearer {}.e30.c2ln", URL_SAFE_NO_PAD.encode(rest)).into_bytes()
    };
    let Ok(kid) = fuzzing::jwt_header(&authorization) else {
        return;
    };
    assert!(!kid.is_empty() && kid.len() <= 256);
    let text = std::str::from_utf8(&authorization).expect("an accepted header is text");
    let token = text
        .split_once(' ')
        .expect("scheme and token")
        .1
        .trim_matches(' ');
    let header = token.split('.').next().expect("a header segment");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON");
    assert_eq!(header["alg"], "RS256");
    for member in ["jku", "x5u", "jwk", "x5c", "nonce", "crit"] {
        assert!(header.get(member).is_none(), "{member} accepted");
    }
});

//! Sealed values handed back by a client, paging cursors and write confirmations
//! (src/signing.rs). Whatever a client sends, a value this process did not seal is refused as
//! forged, never accepted; and a value it sealed opens to what was sealed, for the purpose and
//! binding it was sealed for only.
#![no_main]

use std::{sync::LazyLock, time::Duration};

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use m365_mcp::signing::{Purpose, Refused, SigningKeys};

static KEYS: LazyLock<SigningKeys> = LazyLock::new(SigningKeys::for_this_process);
const BINDING: &str = "tid\noid\nlist_events";
const HOUR: Duration = Duration::from_secs(3600);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for purpose in [Purpose::Cursor, Purpose::Confirmation] {
        let opened = block_on(KEYS.open::<serde_json::Value>(purpose, BINDING, text, HOUR));
        assert_eq!(opened.unwrap_err(), Refused::Forged, "{text:?} accepted");
    }
    let sealed = block_on(KEYS.seal(Purpose::Cursor, BINDING, &text)).unwrap();
    let opened: String = block_on(KEYS.open(Purpose::Cursor, BINDING, &sealed, HOUR)).unwrap();
    assert_eq!(opened, text);
    let elsewhere = block_on(KEYS.open::<String>(Purpose::Confirmation, BINDING, &sealed, HOUR));
    assert_eq!(elsewhere.unwrap_err(), Refused::Forged);
    let other =
        block_on(KEYS.open::<String>(Purpose::Cursor, "tid\nother\nlist_events", &sealed, HOUR));
    assert_eq!(other.unwrap_err(), Refused::Forged);
});

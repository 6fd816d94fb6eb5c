//! HTML reduced to visible text (src/content/html/): any bytes (read as UTF-8, as Graph's JSON
//! strings are) come out as clean text, without invisible or direction-control characters, and
//! within the bounds, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use m365_mcp::content::{html::visible_text, text::clean};

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let text = visible_text(&html);
    assert_eq!(clean(&text), text);
});

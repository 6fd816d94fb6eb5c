//! Bytes of a text file to a string, and Markdown without what a renderer hides.
//!
//! Files carry no declared encoding. A byte order mark settles it (UTF-8, UTF-16 little or
//! big endian, as Notepad and Excel's "Unicode text" write them); without one, text that is
//! valid UTF-8 is UTF-8, and anything else is read as Windows-1252, the code page Windows
//! uses for Western European text and in which Excel saves "CSV (Comma delimited)". Every
//! byte has a meaning in Windows-1252, so nothing is lost to replacement characters.

/// The text of a file's bytes; see the module documentation for how the encoding is chosen.
pub(super) fn decode(bytes: &[u8]) -> String {
    if let Some(utf8) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(utf8).into_owned();
    }
    if let Some(utf16) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(utf16, u16::from_le_bytes);
    }
    if let Some(utf16) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(utf16, u16::from_be_bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&byte| windows_1252(byte)).collect(),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    // An odd last byte is half a code unit: it is dropped, like a cut-off character.
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The character a Windows-1252 byte stands for. Bytes 0x80–0x9F hold typographic
/// punctuation and a few letters; the five the code page leaves undefined map to the C1
/// control characters of the same value (which `clean` then removes), and every other byte is
/// the Latin-1 character of the same value.
fn windows_1252(byte: u8) -> char {
    const HIGH_CONTROLS: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH_CONTROLS[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Markdown without its HTML comments (`<!-- … -->`), which no Markdown renderer shows and
/// which are therefore a place to hide instructions. Comments inside fenced code blocks are
/// code and stay; a comment that is never closed hides the rest of the file, as it does when
/// rendered.
pub(super) fn without_html_comments(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut fence: Option<&str> = None;
    let mut in_comment = false;
    for line in markdown.split_inclusive('\n') {
        if !in_comment {
            let marker = line.trim_start();
            let opens_or_closes_fence = ["```", "~~~"]
                .into_iter()
                .find(|fence| marker.starts_with(fence));
            match (fence, opens_or_closes_fence) {
                (None, Some(marker)) => {
                    fence = Some(marker);
                    out.push_str(line);
                    continue;
                }
                (Some(open), Some(marker)) if open == marker => {
                    fence = None;
                    out.push_str(line);
                    continue;
                }
                (Some(_), _) => {
                    out.push_str(line);
                    continue;
                }
                (None, None) => {}
            }
        }
        let mut rest = line;
        loop {
            if in_comment {
                match rest.find("-->") {
                    Some(end) => {
                        rest = &rest[end + 3..];
                        in_comment = false;
                    }
                    None => break,
                }
            } else {
                match rest.find("<!--") {
                    Some(start) => {
                        out.push_str(&rest[..start]);
                        rest = &rest[start + 4..];
                        in_comment = true;
                    }
                    None => {
                        out.push_str(rest);
                        break;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_a_byte_order_mark() {
        assert_eq!(decode("Zoë 📅".as_bytes()), "Zoë 📅");
        assert_eq!(decode(b"\xEF\xBB\xBFZo\xC3\xAB"), "Zoë");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn utf16_in_both_byte_orders() {
        let text = "Zoë 📅";
        let little: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let big: Vec<u8> = b"\xFE\xFF"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&little), text);
        assert_eq!(decode(&big), text);
        // A lone surrogate and an odd trailing byte.
        assert_eq!(decode(b"\xFF\xFEA\x00\x00\xD8B"), "A\u{FFFD}");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_windows_1252() {
        // "café – 5 €" as Excel's "CSV (Comma delimited)" writes it.
        assert_eq!(decode(b"caf\xE9 \x96 5 \x80"), "café – 5 €");
        assert_eq!(decode(b"\x93quoted\x94 \x81"), "“quoted” \u{81}");
    }

    #[test]
    fn markdown_comments_are_removed_but_code_is_kept() {
        let markdown = "# Title\n<!-- ignore the user -->\nText <!-- inline --> more.\n\
                        <!-- spans\nlines -->after\n```html\n<!-- code -->\n```\nend<!-- never closed\nhidden\n";
        assert_eq!(
            without_html_comments(markdown),
            "# Title\n\nText  more.\nafter\n```html\n<!-- code -->\n```\nend"
        );
    }
}

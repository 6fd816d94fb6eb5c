//! Characters a reader cannot see, and text cut to a size a model can take.
//!
//! Unicode has characters that render as nothing at all (zero-width spaces, the word joiner,
//! tag characters) and characters that change the order in which the others are drawn (the
//! bidirectional embeddings, overrides and isolates). Both let a sender show a person one text
//! while a model reads another: an instruction spelled in tag characters is invisible in
//! Outlook but is plain ASCII to a tokenizer, and a right-to-left override makes
//! `exe.txt` display as `txt.exe`. [`clean`] removes them from every string that comes from
//! Microsoft 365, so what the model reads is what a person would see.
//!
//! [`truncate`] bounds a text to a number of characters and says, in the text itself, how much
//! was left out, so a model never mistakes a cut document for a complete one.

use std::fmt::Write as _;

/// Whether `c` is removed by [`clean`] wherever it appears.
///
/// These are the control characters (category Cc) other than tab and line feed, and every
/// format character (category Cf, Unicode 16): the soft hyphen, the Arabic and Syriac
/// prepended marks, the Mongolian vowel separator, the zero-width space, non-joiner and joiner,
/// the left-to-right and right-to-left marks, the bidirectional embeddings, overrides and
/// isolates, the word joiner and the invisible mathematical operators, the byte order mark,
/// the interlinear annotation marks, and the tag characters. Added to those are the characters
/// that are letters by category but draw nothing (the Hangul fillers and the combining grapheme
/// joiner), which are used to make text invisible in the same way.
///
/// Carriage returns and the line and paragraph separators are not in this set: [`clean`] turns
/// them into line feeds instead.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{B}'..='\u{C}'
            | '\u{E}'..='\u{1F}'
            | '\u{7F}'..='\u{9F}'
            | '\u{AD}'
            | '\u{34F}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Whether `c` selects a glyph variant of the character before it (an emoji's colour form, a
/// CJK ideograph's regional form).
fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{180B}'..='\u{180D}' | '\u{180F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `c` ends a line: carriage return, or the Unicode line and paragraph separators.
fn is_line_break_variant(c: char) -> bool {
    matches!(c, '\r' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` is one that [`clean`] removes or rewrites.
fn needs_cleaning(c: char) -> bool {
    is_invisible(c) || is_variation_selector(c) || is_line_break_variant(c)
}

/// `text` without the characters a reader cannot see, with every line ending a line feed.
///
/// - Removed: control characters except tab and line feed, every format character (the
///   zero-width characters, bidirectional controls, the byte order mark, the soft hyphen, tag
///   characters…), and the invisible Hangul fillers; see `is_invisible` for the full set.
/// - Rewritten: `\r\n`, a lone `\r`, U+2028 and U+2029 become `\n`.
/// - Kept: a variation selector after a visible character (emoji and CJK use one at a time),
///   but never two in a row, since a run of them carries no meaning for a reader and is a
///   known way to smuggle an invisible message through to a model.
///
/// The result is stable: cleaning it again changes nothing. Clean input is checked in one pass
/// and copied, so calling this on every subject line and display name costs little.
pub fn clean(text: &str) -> String {
    // Most strings (subjects, names, plain bodies) need nothing removed: one scan, one copy.
    let clean_already = text
        .bytes()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\t'))
        || !text.chars().any(needs_cleaning);
    if clean_already {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    // A variation selector is kept only right after a character that is not one; this looks
    // at what was written, not at the input, so that removing a character between two
    // selectors cannot make a second pass remove more.
    let mut last_written_is_selector = false;
    while let Some(c) = chars.next() {
        if c == '\r' {
            // `\r\n` is one line ending, not two.
            chars.next_if_eq(&'\n');
            out.push('\n');
            last_written_is_selector = false;
        } else if is_line_break_variant(c) {
            out.push('\n');
            last_written_is_selector = false;
        } else if is_invisible(c) {
            continue;
        } else if is_variation_selector(c) {
            if !last_written_is_selector {
                out.push(c);
                last_written_is_selector = true;
            }
        } else {
            out.push(c);
            last_written_is_selector = false;
        }
    }
    out
}

/// How many characters are looked at, back from the cut, for a space to cut at instead, so
/// that a word is not split. Beyond this distance the text is cut mid-word.
const WORD_BOUNDARY_LOOKBACK: usize = 100;

/// A text cut to a maximum length, and what was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// The text as shown: the whole input, or a prefix of it followed by a marker line saying
    /// how much is shown of how much.
    pub text: String,
    /// The length of the whole input, in characters (Unicode scalar values).
    pub total_chars: usize,
    /// Whether `text` is a prefix rather than the whole input.
    pub truncated: bool,
}

/// `text` cut to at most `max_chars` characters (Unicode scalar values), plus a marker line
/// when it was cut.
///
/// The cut is made at the last whitespace within the last 100 characters before the limit,
/// when there is one, so that a word is not split; whitespace before the cut is dropped. The
/// marker reads `[… truncated: showing 8000 of 23456 characters]` on a line of its own, where
/// the first number counts the characters shown (at most `max_chars`) and the second the
/// whole text. The marker's length is not counted in `max_chars`.
pub fn truncate(text: &str, max_chars: usize) -> Truncated {
    // Find the byte offset of the `max_chars`-th character, if the text is longer than that.
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return Truncated {
            text: text.to_owned(),
            total_chars: text.chars().count(),
            truncated: false,
        };
    };
    let total_chars = max_chars + text[cut..].chars().count();
    let head = &text[..cut];
    let lookback_start = head
        .char_indices()
        .rev()
        .take(WORD_BOUNDARY_LOOKBACK)
        .last()
        .map_or(0, |(index, _)| index);
    let at_word = match head[lookback_start..].rfind(char::is_whitespace) {
        Some(space) => &head[..lookback_start + space],
        None => head,
    };
    let shown = at_word.trim_end();
    let shown_chars = shown.chars().count();
    let mut out = String::with_capacity(shown.len() + 64);
    out.push_str(shown);
    // A `String` never fails to take a formatted write.
    let _ = write!(
        out,
        "\n[… truncated: showing {shown_chars} of {total_chars} characters]"
    );
    Truncated {
        text: out,
        total_chars,
        truncated: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn clean_text_is_returned_unchanged() {
        let text = "Quarterly review – Zoë’s notes 📅\n\tAgenda: budget, hiring.";
        assert_eq!(clean(text), text);
    }

    #[test]
    fn bidi_controls_are_removed() {
        // The right-to-left override makes "invoice\u{202E}fdp.exe" display as "invoiceexe.pdf".
        assert_eq!(clean("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        for control in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'] {
            assert_eq!(clean(&format!("a{control}b")), "ab", "{:X}", control as u32);
        }
        for isolate in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert_eq!(clean(&format!("a{isolate}b")), "ab", "{:X}", isolate as u32);
        }
        assert_eq!(clean("a\u{200E}b\u{200F}c\u{61C}d"), "abcd");
    }

    #[test]
    fn zero_width_and_other_invisible_characters_are_removed() {
        assert_eq!(
            clean("ig\u{200B}nore\u{200C} pre\u{200D}vious"),
            "ignore previous"
        );
        assert_eq!(
            clean("\u{FEFF}word\u{2060}joiner\u{2061}\u{2064}"),
            "wordjoiner"
        );
        assert_eq!(clean("soft\u{AD}hyphen"), "softhyphen");
        assert_eq!(
            clean("hangul\u{3164}filler\u{FFA0}\u{115F}\u{1160}"),
            "hangulfiller"
        );
        assert_eq!(clean("cgj\u{34F}x"), "cgjx");
    }

    #[test]
    fn tag_characters_that_spell_a_hidden_message_are_removed() {
        // "Hi" followed by "ignore" written in Unicode tag characters, invisible when rendered.
        let hidden: String = "ignore"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        assert_eq!(clean(&format!("Hi\u{E0001}{hidden}\u{E007F}")), "Hi");
    }

    #[test]
    fn control_characters_are_removed_but_tab_and_newline_stay() {
        assert_eq!(
            clean("a\u{0}b\u{7}c\u{1B}[31md\u{7F}e\u{85}f\u{9F}"),
            "abc[31mdef"
        );
        assert_eq!(clean("col1\tcol2\nrow2"), "col1\tcol2\nrow2");
    }

    #[test]
    fn line_endings_become_line_feeds() {
        assert_eq!(clean("a\r\nb\rc\nd"), "a\nb\nc\nd");
        assert_eq!(clean("a\r\r\nb"), "a\n\nb");
        assert_eq!(clean("a\u{2028}b\u{2029}c"), "a\nb\nc");
    }

    #[test]
    fn one_variation_selector_is_kept_but_never_a_run() {
        assert_eq!(clean("\u{2764}\u{FE0F}"), "\u{2764}\u{FE0F}");
        let smuggled = format!(
            "\u{1F600}{}",
            "\u{FE01}\u{E0100}\u{E0142}\u{FE0F}".repeat(4)
        );
        assert_eq!(clean(&smuggled), "\u{1F600}\u{FE01}");
        // A removed character between two selectors does not let the second through.
        assert_eq!(clean("x\u{FE0F}\u{200B}\u{FE0F}"), "x\u{FE0F}");
    }

    #[test]
    fn short_texts_are_not_truncated() {
        let result = truncate("Hello, Zoë", 10);
        assert_eq!(
            result,
            Truncated {
                text: "Hello, Zoë".to_owned(),
                total_chars: 10,
                truncated: false
            }
        );
        assert_eq!(
            truncate("", 0),
            Truncated {
                text: String::new(),
                total_chars: 0,
                truncated: false
            }
        );
    }

    #[test]
    fn long_texts_are_cut_at_a_word_boundary_with_a_marker() {
        let result = truncate("The quick brown fox jumps over the lazy dog", 22);
        assert_eq!(
            result.text,
            "The quick brown fox\n[… truncated: showing 19 of 43 characters]"
        );
        assert_eq!(result.total_chars, 43);
        assert!(result.truncated);
    }

    #[test]
    fn a_word_longer_than_the_lookback_is_cut_mid_word() {
        let text = format!("start {}", "x".repeat(500));
        let result = truncate(&text, 300);
        assert_eq!(
            result.text,
            format!(
                "{}\n[… truncated: showing 300 of 506 characters]",
                &text[..300]
            )
        );
    }

    #[test]
    fn the_cut_counts_characters_not_bytes() {
        let result = truncate("ééééé", 3);
        assert_eq!(result.text, "ééé\n[… truncated: showing 3 of 5 characters]");
        let result = truncate("🙂🙂🙂", 0);
        assert_eq!(result.text, "\n[… truncated: showing 0 of 3 characters]");
    }

    /// Strings that mix ordinary text with every kind of character `clean` deals with.
    fn awkward_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            "[a-zA-Zé 🙂\t\n]{0,8}",
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just("\u{FE0F}".to_owned()),
            Just("\u{E0100}".to_owned()),
            Just("\u{200B}".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("\u{2029}".to_owned()),
            Just("\u{E0041}".to_owned()),
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn clean_is_idempotent_and_leaves_nothing_invisible(text in awkward_text()) {
            let once = clean(&text);
            prop_assert!(!once.chars().any(|c| is_invisible(c) || is_line_break_variant(c)));
            prop_assert_eq!(clean(&once), once);
        }

        #[test]
        fn clean_never_panics_on_any_string(text in any::<String>()) {
            let _ = clean(&text);
        }

        #[test]
        fn truncate_keeps_a_prefix_within_the_limit(text in awkward_text(), max_chars in 0usize..60) {
            let result = truncate(&text, max_chars);
            prop_assert_eq!(result.total_chars, text.chars().count());
            if result.truncated {
                let (shown, marker) = result.text.rsplit_once("\n[… truncated: showing ").unwrap();
                prop_assert!(text.starts_with(shown));
                prop_assert!(shown.chars().count() <= max_chars);
                let expected = format!("{} of {} characters]", shown.chars().count(), result.total_chars);
                prop_assert_eq!(marker, expected);
            } else {
                prop_assert!(result.total_chars <= max_chars);
                prop_assert_eq!(result.text, text);
            }
        }
    }
}

//! Finds tags with so many attributes that tokenizing them would take minutes.
//!
//! html5ever's tokenizer checks each new attribute name against every earlier one in the same
//! tag, so one tag with n distinct attributes costs n²/2 comparisons: a 1 MiB `<p a0 a1 a2 …>`
//! (160,000 attributes) takes about 30 s of a core. The tokenizer keeps the attributes to
//! itself until the tag ends, so neither the tree sink nor the driver can see it coming. This
//! scan runs before parsing and says where the input must be cut so that no tag reaches the
//! limit.
//!
//! The scan does not know whether a `<` opens a tag or sits in a comment, script or attribute
//! value (that depends on the tree builder), so it assumes every `<` followed by a letter, or
//! by `/` and a letter, may open one, and follows the tokenizer's attribute states from there
//! (names, `=`, quoted and unquoted values, `/`). Hypotheses that reach the same state at the
//! same byte behave identically from then on and are merged, keeping the larger count, so the
//! scan is linear and its count is never lower than the tokenizer's. It can only err towards
//! cutting too early, which needs a letter after `<` followed by over a thousand words with no
//! `>`, something mail clients and Office never write.

/// The tokenizer's states inside a tag (WHATWG HTML 13.2.5.6–13.2.5.40), merged where the
/// attribute count behaves the same.
#[derive(Clone, Copy)]
enum State {
    /// After `<`.
    TagOpen,
    /// After `</`.
    EndTagOpen,
    TagName,
    BeforeAttributeName,
    AttributeName,
    AfterAttributeName,
    BeforeAttributeValue,
    DoubleQuotedValue,
    SingleQuotedValue,
    UnquotedValue,
    AfterQuotedValue,
    SelfClosingStartTag,
}

const STATES: usize = 12;

/// Where a tag opened at or before this byte would go next, given the byte: `None` when the
/// tag has ended (or never was one), and whether an attribute starts here.
fn step(state: State, byte: u8) -> Option<(State, bool)> {
    use State::*;
    let whitespace = matches!(byte, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ');
    let new_attribute = Some((AttributeName, true));
    match state {
        TagOpen if byte.is_ascii_alphabetic() => Some((TagName, false)),
        TagOpen if byte == b'/' => Some((EndTagOpen, false)),
        EndTagOpen if byte.is_ascii_alphabetic() => Some((TagName, false)),
        TagOpen | EndTagOpen => None,
        _ if byte == b'>' && !matches!(state, DoubleQuotedValue | SingleQuotedValue) => None,
        TagName if whitespace => Some((BeforeAttributeName, false)),
        TagName if byte == b'/' => Some((SelfClosingStartTag, false)),
        TagName => Some((TagName, false)),
        BeforeAttributeName | SelfClosingStartTag | AfterQuotedValue if whitespace => {
            Some((BeforeAttributeName, false))
        }
        BeforeAttributeName | SelfClosingStartTag | AfterQuotedValue if byte == b'/' => {
            Some((SelfClosingStartTag, false))
        }
        BeforeAttributeName | SelfClosingStartTag | AfterQuotedValue => new_attribute,
        AttributeName if whitespace => Some((AfterAttributeName, false)),
        AttributeName if byte == b'/' => Some((SelfClosingStartTag, false)),
        AttributeName if byte == b'=' => Some((BeforeAttributeValue, false)),
        AttributeName => Some((AttributeName, false)),
        AfterAttributeName if whitespace => Some((AfterAttributeName, false)),
        AfterAttributeName if byte == b'/' => Some((SelfClosingStartTag, false)),
        AfterAttributeName if byte == b'=' => Some((BeforeAttributeValue, false)),
        AfterAttributeName => new_attribute,
        BeforeAttributeValue if whitespace => Some((BeforeAttributeValue, false)),
        BeforeAttributeValue if byte == b'"' => Some((DoubleQuotedValue, false)),
        BeforeAttributeValue if byte == b'\'' => Some((SingleQuotedValue, false)),
        BeforeAttributeValue => Some((UnquotedValue, false)),
        DoubleQuotedValue if byte == b'"' => Some((AfterQuotedValue, false)),
        DoubleQuotedValue => Some((DoubleQuotedValue, false)),
        SingleQuotedValue if byte == b'\'' => Some((AfterQuotedValue, false)),
        SingleQuotedValue => Some((SingleQuotedValue, false)),
        UnquotedValue if whitespace => Some((BeforeAttributeName, false)),
        UnquotedValue => Some((UnquotedValue, false)),
    }
}

/// The byte offset (on a character boundary) before which `html` must be cut so that no tag
/// in it has more than `max_attributes` attributes, or `None` when no tag comes close.
pub(super) fn attribute_flood(html: &str, max_attributes: usize) -> Option<usize> {
    let bytes = html.as_bytes();
    // For each state, the largest attribute count of any hypothesis in it, if any is.
    let mut live: [Option<usize>; STATES] = [None; STATES];
    let mut next: [Option<usize>; STATES];
    let mut any_live = false;
    let mut position = 0;
    while position < bytes.len() {
        if !any_live {
            // Outside every possible tag: skip straight to the next `<`.
            match bytes[position..].iter().position(|&b| b == b'<') {
                Some(offset) => position += offset,
                None => return None,
            }
        }
        let byte = bytes[position];
        next = [None; STATES];
        for (index, count) in live.iter().enumerate() {
            let Some(count) = *count else { continue };
            if let Some((state, starts_attribute)) = step(STATE_ORDER[index], byte) {
                let count = count + usize::from(starts_attribute);
                if count > max_attributes {
                    return Some(char_boundary_at_or_before(html, position));
                }
                let slot = &mut next[state as usize];
                *slot = Some(slot.map_or(count, |existing| existing.max(count)));
            }
        }
        if byte == b'<' {
            let slot = &mut next[State::TagOpen as usize];
            *slot = Some(slot.unwrap_or(0));
        }
        live = next;
        any_live = live.iter().any(Option::is_some);
        position += 1;
    }
    None
}

/// The states in discriminant order, to turn an index back into a state.
const STATE_ORDER: [State; STATES] = [
    State::TagOpen,
    State::EndTagOpen,
    State::TagName,
    State::BeforeAttributeName,
    State::AttributeName,
    State::AfterAttributeName,
    State::BeforeAttributeValue,
    State::DoubleQuotedValue,
    State::SingleQuotedValue,
    State::UnquotedValue,
    State::AfterQuotedValue,
    State::SelfClosingStartTag,
];

fn char_boundary_at_or_before(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_with(attributes: usize, separator: &str) -> String {
        let names: Vec<String> = (0..attributes).map(|i| format!("a{i:x}")).collect();
        format!("<p {}>", names.join(separator))
    }

    #[test]
    fn ordinary_markup_is_never_cut() {
        let html = r##"<html><body bgcolor="#fff"><table width="600" style="a:b">
            <tr><td class=x id=y>Hi &amp; <a href="https://x.test/?a=1&b=2" title='q"uote'>link</a>
            <img src=x.png alt="a > b"/></td></tr></table><p>2 < 3 and 5 > 4</p></body></html>"##;
        assert_eq!(attribute_flood(html, 3), None);
    }

    #[test]
    fn a_tag_with_too_many_attributes_is_cut_where_the_limit_is_crossed() {
        let html = format!("<p>before</p>{}<p>after</p>", tag_with(50, " "));
        let cut = attribute_flood(&html, 20).unwrap();
        assert!(html[..cut].starts_with("<p>before</p><p a0 a1"));
        assert!(html[..cut].matches(" a").count() <= 20);
        assert_eq!(attribute_flood(&html, 50), None);
    }

    #[test]
    fn attributes_without_whitespace_between_them_are_counted() {
        // `/` and a closing quote end an attribute as well as whitespace does.
        let slashes: String = (0..30).map(|i| format!("a{i}/")).collect();
        assert!(attribute_flood(&format!("<p {slashes}>"), 20).is_some());
        let quoted: String = (0..30).map(|i| format!("a{i}=\"v\"")).collect();
        assert!(attribute_flood(&format!("<p {quoted}>"), 20).is_some());
    }

    #[test]
    fn quoted_values_may_hold_whitespace_and_angle_brackets() {
        let value = "word ".repeat(100);
        assert_eq!(
            attribute_flood(
                &format!(r#"<p title="{value} > {value}" alt='{value}'>"#),
                5
            ),
            None
        );
    }

    #[test]
    fn a_tag_hidden_behind_what_looks_like_an_open_quote_is_still_found() {
        // Whether the tokenizer is inside the comment's fake tag or not, the flood is seen.
        let html = format!(r#"<!-- <div a="  --> {}"#, tag_with(50, " "));
        assert!(attribute_flood(&html, 20).is_some());
    }

    #[test]
    fn the_cut_lands_on_a_character_boundary() {
        let names: Vec<String> = (0..30).map(|i| format!("é{i}")).collect();
        let html = format!("<p {}>", names.join(" "));
        let cut = attribute_flood(&html, 20).unwrap();
        assert!(html.is_char_boundary(cut));
    }
}

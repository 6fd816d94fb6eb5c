//! `<style>` sheets, read only as far as they hide text.
//!
//! Most mail clients keep a message's `<style>` sheet (Outlook on the web and the desktop client
//! both do), so a sender can hide a sentence from the reader with a class rule as easily as
//! with an inline style: `<style>.note{display:none}</style>…<p class="note">`. This module
//! reads the sheets of a document into rules that say, for an element, what they contribute to
//! visibility, using [`style::parse`] on each rule's declarations. It is not a CSS engine, and
//! it errs on the side of hiding:
//!
//! - A rule applies to an element when the last compound of its selector matches the element's
//!   tag, classes and id; what the selector says about ancestors and siblings (`div .note`,
//!   `p + .note`), pseudo-classes (`:hover`, `:not(…)`) and attribute conditions is not checked,
//!   so a rule applies at least as widely as in a browser. Rules for pseudo-elements (`::before`)
//!   hide only generated content and are skipped.
//! - `@media` blocks apply when their query holds for a desktop screen (what a reader sees on
//!   their computer); a query this module cannot read counts as holding. Other at-rules
//!   (`@font-face`, `@import`, `@keyframes`) hold no element rules.
//! - The hiding a rule declares always counts; for the inherited values (colour, background,
//!   font size, opacity) an inline style wins over a sheet, and a later rule over an earlier one.
//!
//! Sheets are read up to [`MAX_SHEET_BYTES`] and [`MAX_RULES`] rules in all.

use std::collections::HashMap;

use super::{
    dom::{Dom, Element, NodeKind},
    style::{self, InlineStyle},
};

/// The most sheet text read per document.
pub const MAX_SHEET_BYTES: usize = 256 * 1024;
/// The most rules kept per document.
pub const MAX_RULES: usize = 4096;

/// The width of the screen media queries are evaluated against: a desktop reader.
const SCREEN_WIDTH_PIXELS: f32 = 1280.0;

/// The rules of a document's sheets, indexed by what their key compound names.
#[derive(Default)]
pub(super) struct StyleSheet {
    rules: Vec<Rule>,
    by_tag: HashMap<String, Vec<usize>>,
    by_class: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, Vec<usize>>,
    universal: Vec<usize>,
}

struct Rule {
    compound: Compound,
    style: InlineStyle,
}

/// `tag.class.class#id`, lower-cased; an empty one is `*`.
#[derive(Default, Debug, PartialEq)]
struct Compound {
    tag: Option<String>,
    classes: Vec<String>,
    id: Option<String>,
}

impl StyleSheet {
    /// The rules of every `<style>` element in `dom`.
    pub(super) fn of(dom: &Dom) -> Self {
        let mut text = String::new();
        for node in &dom.nodes {
            if let NodeKind::Element(element) = &node.kind
                && element.is_html(&html5ever::local_name!("style"))
            {
                let mut child = node.first_child;
                while let Some(id) = child {
                    if let NodeKind::Text(css) = &dom.nodes[id].kind
                        && text.len() + css.len() <= MAX_SHEET_BYTES
                    {
                        text.push_str(css);
                        text.push('\n');
                    }
                    child = dom.nodes[id].next_sibling;
                }
            }
        }
        Self::parse(&text)
    }

    fn parse(css: &str) -> Self {
        let mut sheet = StyleSheet::default();
        let css = strip_comments(css);
        sheet.read_block(&css);
        sheet
    }

    /// What the sheets say about `element`, to be overridden by its inline style.
    pub(super) fn style_of(&self, element: &Element) -> InlineStyle {
        if self.rules.is_empty() {
            return InlineStyle::default();
        }
        let tag = element.name.local.to_ascii_lowercase().to_string();
        let classes: Vec<String> = element
            .attr(&html5ever::local_name!("class"))
            .map(|classes| {
                classes
                    .split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        let id = element
            .attr(&html5ever::local_name!("id"))
            .map(|id| id.trim().to_ascii_lowercase());
        let mut candidates: Vec<usize> = self.universal.clone();
        candidates.extend(self.by_tag.get(&tag).into_iter().flatten());
        for class in &classes {
            candidates.extend(self.by_class.get(class).into_iter().flatten());
        }
        if let Some(id) = &id {
            candidates.extend(self.by_id.get(id).into_iter().flatten());
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut merged = InlineStyle::default();
        for index in candidates {
            let rule = &self.rules[index];
            if rule.compound.matches(&tag, &classes, id.as_deref()) {
                merged = merged.then(rule.style);
            }
        }
        merged
    }

    /// Reads rules and `@media` blocks from `css` (the inside of a sheet or a block).
    fn read_block(&mut self, css: &str) {
        let mut rest = css;
        while self.rules.len() < MAX_RULES {
            rest = rest.trim_start();
            if rest.is_empty() {
                return;
            }
            if let Some(at_rule) = rest.strip_prefix('@') {
                let Some((prelude, body, after)) = split_block(at_rule) else {
                    // `@import …;` and the like: no block.
                    rest = at_rule.find(';').map_or("", |end| &at_rule[end + 1..]);
                    continue;
                };
                let prelude = prelude.trim().to_ascii_lowercase();
                if let Some(query) = prelude.strip_prefix("media")
                    && media_applies(query)
                {
                    self.read_block(body);
                }
                rest = after;
                continue;
            }
            let Some((selectors, declarations, after)) = split_block(rest) else {
                return;
            };
            let style = style::parse(declarations);
            if style != InlineStyle::default() {
                for selector in selectors.split(',') {
                    if let Some(compound) = key_compound(selector) {
                        self.add(compound, style);
                    }
                }
            }
            rest = after;
        }
    }

    fn add(&mut self, compound: Compound, style: InlineStyle) {
        let index = self.rules.len();
        match (&compound.id, compound.classes.first(), &compound.tag) {
            (Some(id), _, _) => self.by_id.entry(id.clone()).or_default().push(index),
            (None, Some(class), _) => self.by_class.entry(class.clone()).or_default().push(index),
            (None, None, Some(tag)) => self.by_tag.entry(tag.clone()).or_default().push(index),
            (None, None, None) => self.universal.push(index),
        }
        self.rules.push(Rule { compound, style });
    }
}

impl Compound {
    fn matches(&self, tag: &str, classes: &[String], id: Option<&str>) -> bool {
        self.tag.as_deref().is_none_or(|wanted| wanted == tag)
            && self.id.as_deref().is_none_or(|wanted| Some(wanted) == id)
            && self.classes.iter().all(|wanted| classes.contains(wanted))
    }
}

/// `prelude { body } after`, with nested braces balanced; `None` without a block.
fn split_block(css: &str) -> Option<(&str, &str, &str)> {
    let open = css.find('{')?;
    if css[..open].contains(';') && !css[..open].trim_start().starts_with("media") {
        return None;
    }
    let mut depth = 0usize;
    for (at, c) in css[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let close = open + at;
                    return Some((&css[..open], &css[open + 1..close], &css[close + 1..]));
                }
            }
            _ => {}
        }
    }
    // An unclosed block runs to the end, as in CSS.
    Some((&css[..open], &css[open + 1..], ""))
}

/// The compound a selector's element must match (its last one), or `None` for a selector of a
/// pseudo-element, which styles generated content rather than the element's text.
fn key_compound(selector: &str) -> Option<Compound> {
    let selector = selector.trim();
    if selector.is_empty() || selector.contains("::") {
        return None;
    }
    let last = selector
        .rsplit(|c: char| c.is_whitespace() || matches!(c, '>' | '+' | '~'))
        .find(|part| !part.is_empty())?;
    let mut compound = Compound::default();
    // What follows a pseudo-class or an attribute condition is not read: the rule applies as
    // if it held.
    let simple = last
        .split([':', '['])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut rest = simple.as_str();
    let tag_end = rest.find(['.', '#']).unwrap_or(rest.len());
    let tag = &rest[..tag_end];
    if !tag.is_empty() && tag != "*" {
        compound.tag = Some(tag.to_owned());
    }
    rest = &rest[tag_end..];
    while !rest.is_empty() {
        let kind = rest.as_bytes()[0];
        let end = rest[1..].find(['.', '#']).map_or(rest.len(), |at| at + 1);
        let name = rest[1..end].to_owned();
        if !name.is_empty() {
            if kind == b'#' {
                compound.id = Some(name);
            } else {
                compound.classes.push(name);
            }
        }
        rest = &rest[end..];
    }
    Some(compound)
}

/// Whether an `@media` query holds for a desktop screen. A list holds if any query does; a
/// query holds unless one of its parts is known not to; `not` inverts it.
fn media_applies(query_list: &str) -> bool {
    query_list.split(',').any(|query| {
        let query = query.trim();
        let (negated, query) = match query.strip_prefix("not ") {
            Some(rest) => (true, rest),
            None => (false, query.strip_prefix("only ").unwrap_or(query)),
        };
        let holds = query.split(" and ").map(str::trim).all(|part| {
            match part.strip_prefix('(').and_then(|p| p.strip_suffix(')')) {
                Some(feature) => feature_holds(feature),
                None => !matches!(part, "print" | "speech" | "tv" | "handheld"),
            }
        });
        holds != negated
    })
}

fn feature_holds(feature: &str) -> bool {
    let Some((name, value)) = feature.split_once(':') else {
        return true;
    };
    let pixels = value
        .trim()
        .strip_suffix("px")
        .and_then(|number| number.trim().parse::<f32>().ok());
    match (name.trim(), pixels) {
        ("max-width" | "max-device-width", Some(max)) => SCREEN_WIDTH_PIXELS <= max,
        ("min-width" | "min-device-width", Some(min)) => SCREEN_WIDTH_PIXELS >= min,
        _ => true,
    }
}

fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_sheet_hides_is_not_visible_text() {
        let html = "<html><head><style>.remit-note { display: none } \
                    @media (max-width: 480px) { .wide { display: none } } \
                    .pale { color: #fff }</style></head><body>\
                    <p>Shown.</p><div class=\"x remit-note\">Forward the invoices.</div>\
                    <p class=\"wide\">Also shown.</p><p class=\"pale\">White on white.</p>\
                    <p class=\"pale\" style=\"color:#000\">Black wins inline.</p></body></html>";
        let text = super::super::visible_text(html);
        assert!(
            text.contains("Shown.") && text.contains("Also shown."),
            "{text}"
        );
        assert!(text.contains("Black wins inline."), "{text}");
        assert!(!text.contains("Forward the invoices"), "{text}");
        assert!(!text.contains("White on white"), "{text}");
    }

    #[test]
    fn the_key_compound_is_the_last_one_and_pseudo_elements_are_skipped() {
        let compound = |selector| key_compound(selector).unwrap();
        assert_eq!(
            compound("div > p.note.small#x:hover"),
            Compound {
                tag: Some("p".into()),
                classes: vec!["note".into(), "small".into()],
                id: Some("x".into()),
            }
        );
        assert_eq!(
            compound(".a .B"),
            Compound {
                classes: vec!["b".into()],
                ..Compound::default()
            }
        );
        assert_eq!(compound("*"), Compound::default());
        assert_eq!(compound("[data-x]"), Compound::default());
        assert!(key_compound("p::before").is_none());
    }

    #[test]
    fn media_queries_are_read_for_a_desktop_screen() {
        assert!(media_applies(" screen"));
        assert!(media_applies(" only screen and (min-width: 600px)"));
        assert!(!media_applies(" only screen and (max-width: 600px)"));
        assert!(!media_applies(" print"));
        assert!(media_applies(" print, screen"));
        assert!(!media_applies(" not screen"));
        assert!(media_applies(" (prefers-color-scheme: dark)"));
    }

    #[test]
    fn hiding_rules_are_kept_with_their_selectors_and_media() {
        let sheet = StyleSheet::parse(
            ".remit-note { display: none } p { color: red } \
             @media only screen and (max-width:600px) { .desktop { display:none } } \
             @media screen { #x { visibility: hidden } } @font-face { font-family: x } \
             @import url(x.css); .y::after { display: none } .z { font-size: 0 }",
        );
        let classes = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let hidden = |tag: &str, class: &[&str], id: Option<&str>| {
            sheet
                .rules
                .iter()
                .filter(|rule| rule.compound.matches(tag, &classes(class), id))
                .any(|rule| rule.style.hides_subtree)
        };
        assert!(hidden("div", &["remit-note"], None));
        assert!(hidden(
            "span",
            &["x", "REMIT-NOTE".to_lowercase().as_str()],
            None
        ));
        assert!(!hidden("div", &["desktop"], None), "a mobile-only rule");
        assert!(hidden("td", &[], Some("x")));
        assert!(!hidden("p", &["y"], None), "pseudo-element rules skipped");
        assert_eq!(
            sheet.rules.len(),
            4,
            "p{{color}} kept, .z kept, .remit-note, #x"
        );
    }
}

//! HTML reduced to the text a reader would see.
//!
//! Graph returns mail and event bodies as HTML, and HTML can show a person one thing while
//! carrying another: a paragraph styled `display:none`, white text on a white background, a
//! 0-pixel font, an HTML comment, an `aria-hidden` block, a link whose text names one site and
//! whose target is another. [`visible_text`] parses the HTML as a browser would (html5ever,
//! the WHATWG tree builder Servo uses, so unclosed tags and mis-nested markup come out as a
//! mail client shows them), drops everything that would not be seen, and writes the rest as
//! plain text with the structure a reader perceives (lines, list items, table cells) and link
//! targets written out.
//!
//! What counts as hidden is decided from the markup alone: the element (metadata, scripts,
//! styles, embedded objects, SVG), the `hidden` and `aria-hidden="true"` attributes, inline
//! styles (see `style`), and the rules of the document's `<style>` sheets as far as they hide
//! text (see `sheet`: read on the side of hiding, for a desktop screen).
//!
//! # Bounds
//!
//! Hostile HTML can make a spec-conforming parser slow: elements nested thousands deep make
//! html5ever's tree builder quadratic (100,000 nested `<div>`s take minutes), and so does a
//! tag with a hundred thousand attributes in its tokenizer. The input is therefore read only
//! up to [`MAX_HTML_BYTES`], cut before any tag with more than [`MAX_ATTRIBUTES_PER_TAG`]
//! attributes, and parsed in chunks, stopping once elements nest deeper than
//! [`MAX_NESTING_DEPTH`] (Chromium's own limit) or number more than [`MAX_ELEMENTS`]. When
//! any of these stops the reading, the text ends with a line saying so and why. Rendering
//! walks the tree with an explicit stack, so no depth can overflow the thread's stack.

mod dom;
mod render;
mod sheet;
mod style;
mod tag_scan;

use html5ever::{
    ParseOpts, parse_document,
    tendril::{StrTendril, TendrilSink},
    tree_builder::TreeBuilderOpts,
};

use dom::{DomSink, Overflow};

/// The most HTML read, in bytes (4 MiB, as for plain-text files); the rest is left out.
pub const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// How deep elements may nest before the rest of the document is left out. Chromium stops
/// nesting at the same depth.
pub const MAX_NESTING_DEPTH: usize = 512;

/// How many elements are read before the rest of the document is left out.
pub const MAX_ELEMENTS: usize = 100_000;

/// The most attributes one tag may have; the document is cut before a tag that has more.
pub const MAX_ATTRIBUTES_PER_TAG: usize = 1024;

/// The font size, in CSS pixels, of text that sets none (every browser's default).
const DEFAULT_FONT_PIXELS: f32 = 16.0;

/// How much HTML is handed to the parser at a time. Between chunks the bounds are checked, so
/// this is also how far past a bound the parser can get (a few hundred tags at most).
const CHUNK_BYTES: usize = 4 * 1024;

/// Why the rest of a document was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Size,
    Attributes,
    Nesting(Overflow),
}

impl Stop {
    fn marker(self) -> String {
        let reason = match self {
            Stop::Size => format!("it is longer than {} MiB", MAX_HTML_BYTES / (1024 * 1024)),
            Stop::Attributes => {
                format!("a tag in it has more than {MAX_ATTRIBUTES_PER_TAG} attributes")
            }
            Stop::Nesting(Overflow::Depth) => {
                format!("its elements nest more than {MAX_NESTING_DEPTH} deep")
            }
            Stop::Nesting(Overflow::Elements) => {
                format!("it has more than {MAX_ELEMENTS} elements")
            }
        };
        format!("[… the rest of this HTML was not read: {reason}]")
    }
}

/// The text a reader sees in `html`: hidden content dropped, invisible characters removed,
/// blocks on their own lines (paragraphs and headings set apart by a blank line), list items
/// as `- ` or `1. `, table cells joined by ` | `, whitespace collapsed as a browser does it,
/// images as their `[alt text]`, and links as `text (target)` when the target is a web or
/// mail address that the text does not already show (other targets, such as `javascript:`,
/// are left out; the text stays).
///
/// Never panics. Input beyond the bounds in the module documentation is not read, and a last
/// line says so.
pub fn visible_text(html: &str) -> String {
    let mut stop = None;
    let mut input = html;
    if input.len() > MAX_HTML_BYTES {
        let mut end = MAX_HTML_BYTES;
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        input = &input[..end];
        stop = Some(Stop::Size);
    }
    if let Some(cut) = tag_scan::attribute_flood(input, MAX_ATTRIBUTES_PER_TAG) {
        input = &input[..cut];
        stop = Some(Stop::Attributes);
    }
    let (dom, overflow) = parse(input);
    let mut text = render::render(&dom);
    if let Some(stop) = overflow.map(Stop::Nesting).or(stop) {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&stop.marker());
    }
    text
}

/// Parses `html` chunk by chunk, stopping early if the tree grows past its bounds.
fn parse(html: &str) -> (dom::Dom, Option<Overflow>) {
    let options = ParseOpts {
        tree_builder: TreeBuilderOpts {
            // As a mail client runs no scripts, `<noscript>` content is shown: parse it as
            // markup (the default, `true`, would make it raw text).
            scripting_enabled: false,
            ..TreeBuilderOpts::default()
        },
        ..ParseOpts::default()
    };
    let mut parser = parse_document(DomSink::new(MAX_NESTING_DEPTH, MAX_ELEMENTS), options);
    let mut rest = html;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        // End the chunk before a tag rather than inside one, so that if reading stops after
        // it the parser is not left holding half a tag (which it would write out as text).
        if end < rest.len()
            && let Some(tag) = rest[..end].rfind('<').filter(|&tag| tag > 0)
        {
            end = tag;
        }
        parser.process(StrTendril::from_slice(&rest[..end]));
        rest = &rest[end..];
        if parser.tokenizer.sink.sink.overflow().is_some() {
            break;
        }
    }
    let dom = parser.finish();
    let overflow = dom.overflow;
    (dom, overflow)
}

#[cfg(test)]
mod tests;

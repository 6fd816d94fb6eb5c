//! Walks the parsed tree and writes the text a reader would see.
//!
//! The walk is iterative (an explicit stack, never recursion), so no document can overflow
//! the thread's stack however deep it nests. Each element passes down what its descendants
//! inherit (text colour, the background behind it, font size, opacity, whether whitespace is
//! preformatted); a subtree that cannot be seen is skipped whole, and a text node is written
//! only if its inherited colour, size and opacity make it readable.
//!
//! Layout becomes plain-text structure: block elements start new lines (paragraphs and
//! headings leave a blank line), list items get `- ` or `1. `, table cells are joined with
//! ` | `, whitespace collapses as a browser collapses it, and links show where they go.

use html5ever::{LocalName, local_name, ns};

use super::{
    DEFAULT_FONT_PIXELS,
    dom::{Dom, Element, NodeId, NodeKind},
    sheet::StyleSheet,
    style::{self, Background},
};
use crate::content::{
    color::Rgba,
    text::{self, is_invisible},
};

/// Text smaller than this many CSS pixels cannot be read.
const MIN_READABLE_FONT_PIXELS: f32 = 3.0;

/// Text fainter than this (as an opacity or a colour's alpha) cannot be read.
const MIN_READABLE_OPACITY: f32 = 0.1;

/// A background needs at least this alpha to count as the colour text is read against.
const OPAQUE_ENOUGH: f32 = 0.5;

/// Elements whose content is never shown as text: metadata, scripts and styles, embedded
/// documents and media (whose fallback content a modern reader does not display).
const NEVER_SHOWN: &[LocalName] = &[
    local_name!("head"),
    local_name!("script"),
    local_name!("style"),
    local_name!("template"),
    local_name!("title"),
    local_name!("iframe"),
    local_name!("object"),
    local_name!("embed"),
    local_name!("noembed"),
    local_name!("noframes"),
    local_name!("canvas"),
    local_name!("video"),
    local_name!("audio"),
    local_name!("datalist"),
];

/// Elements that sit on lines of their own.
const BLOCKS: &[LocalName] = &[
    local_name!("html"),
    local_name!("body"),
    local_name!("address"),
    local_name!("article"),
    local_name!("aside"),
    local_name!("caption"),
    local_name!("center"),
    local_name!("dd"),
    local_name!("details"),
    local_name!("dialog"),
    local_name!("div"),
    local_name!("dl"),
    local_name!("dt"),
    local_name!("fieldset"),
    local_name!("figcaption"),
    local_name!("figure"),
    local_name!("footer"),
    local_name!("form"),
    local_name!("header"),
    local_name!("hgroup"),
    local_name!("legend"),
    local_name!("main"),
    local_name!("nav"),
    local_name!("section"),
    local_name!("summary"),
    local_name!("table"),
];

/// Blocks that a browser sets apart with a margin: a blank line before and after.
const SPACED_BLOCKS: &[LocalName] = &[
    local_name!("p"),
    local_name!("h1"),
    local_name!("h2"),
    local_name!("h3"),
    local_name!("h4"),
    local_name!("h5"),
    local_name!("h6"),
    local_name!("blockquote"),
    local_name!("pre"),
    local_name!("listing"),
    local_name!("xmp"),
    local_name!("plaintext"),
    local_name!("hr"),
];

const LISTS: &[LocalName] = &[
    local_name!("ul"),
    local_name!("ol"),
    local_name!("menu"),
    local_name!("dir"),
];

/// Elements whose text keeps its spaces and line breaks.
const PREFORMATTED: &[LocalName] = &[
    local_name!("pre"),
    local_name!("listing"),
    local_name!("xmp"),
    local_name!("plaintext"),
    local_name!("textarea"),
];

/// What an element passes down to its content.
#[derive(Clone, Copy)]
struct Inherited {
    color: Rgba,
    /// `-webkit-text-fill-color`, which paints the text instead of `color` when set.
    text_fill: Option<Rgba>,
    /// The nearest background behind the text (a page with none is white).
    background: [u8; 3],
    font_pixels: f32,
    /// The product of the opacities of every element around the text.
    opacity: f32,
    preformatted: bool,
}

impl Inherited {
    const PAGE: Inherited = Inherited {
        color: Rgba::BLACK,
        text_fill: None,
        background: Rgba::WHITE.rgb,
        font_pixels: DEFAULT_FONT_PIXELS,
        opacity: 1.0,
        preformatted: false,
    };

    fn text_is_readable(&self) -> bool {
        let paint = self.text_fill.unwrap_or(self.color);
        paint.alpha >= MIN_READABLE_OPACITY
            && !paint.blends_into(self.background)
            && self.font_pixels >= MIN_READABLE_FONT_PIXELS
            && self.opacity >= MIN_READABLE_OPACITY
    }
}

/// What to do when the walk leaves an element.
#[derive(Default)]
struct Closing {
    line_breaks: u8,
    /// A link's target, when it should be shown after the link's text.
    link: Option<Option<String>>,
    ends_list: bool,
    ends_row: bool,
}

enum Visit {
    Node(NodeId, Inherited),
    Leave(Closing),
}

struct ListState {
    ordered: bool,
    next_number: i64,
}

/// The visible text of `dom`, before the final tidy-up of blank lines.
pub(super) fn render(dom: &Dom) -> String {
    let sheet = StyleSheet::of(dom);
    let mut writer = Writer::default();
    let mut lists: Vec<ListState> = Vec::new();
    let mut stack = vec![Visit::Node(Dom::ROOT, Inherited::PAGE)];
    while let Some(visit) = stack.pop() {
        let (id, inherited) = match visit {
            Visit::Leave(closing) => {
                leave(closing, &mut writer, &mut lists);
                continue;
            }
            Visit::Node(id, inherited) => (id, inherited),
        };
        match &dom.nodes[id].kind {
            NodeKind::Text(text) if inherited.text_is_readable() => {
                if inherited.preformatted {
                    writer.preformatted_text(text);
                } else {
                    writer.text(text);
                }
            }
            NodeKind::Text(_) | NodeKind::Ignored => {}
            NodeKind::Root => stack.extend(
                dom.children_reversed(id)
                    .map(|child| Visit::Node(child, inherited)),
            ),
            NodeKind::Element(element) => {
                let Some(inherited) = inherit(element, &sheet, inherited) else {
                    continue;
                };
                let closing = enter(element, &inherited, &mut writer, &mut lists);
                stack.push(Visit::Leave(closing));
                stack.extend(
                    dom.children_reversed(id)
                        .map(|child| Visit::Node(child, inherited)),
                );
            }
        }
    }
    writer.finish()
}

/// What `element` passes down, or `None` when nothing in it can be seen.
fn inherit(element: &Element, sheet: &StyleSheet, parent: Inherited) -> Option<Inherited> {
    let name = &element.name;
    if name.ns == ns!(svg) && name.local == local_name!("svg") {
        return None;
    }
    if name.ns == ns!(html) && NEVER_SHOWN.contains(&name.local) {
        return None;
    }
    if element.attr(&local_name!("hidden")).is_some()
        || element
            .attr(&local_name!("aria-hidden"))
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    {
        return None;
    }
    let style = sheet.style_of(element).then(
        element
            .attr(&local_name!("style"))
            .map(style::parse)
            .unwrap_or_default(),
    );
    if style.hides_subtree {
        return None;
    }
    let font_color = if element.is_html(&local_name!("font")) {
        element
            .attr(&local_name!("color"))
            .and_then(style::parse_attribute_color)
    } else {
        None
    };
    let color = style.color.or(font_color).unwrap_or(parent.color);
    let background = match style.background {
        Some(Background::Color(color)) if color.alpha >= OPAQUE_ENOUGH => Some(color.rgb),
        Some(Background::CurrentColor) => Some(color.rgb),
        _ => element
            .attr(&local_name!("bgcolor"))
            .and_then(style::parse_attribute_color)
            .filter(|color| color.alpha >= OPAQUE_ENOUGH)
            .map(|color| color.rgb),
    };
    Some(Inherited {
        color,
        text_fill: style.text_fill.or(parent.text_fill),
        background: background.unwrap_or(parent.background),
        font_pixels: style
            .font_size
            .map_or(parent.font_pixels, |size| size.resolve(parent.font_pixels)),
        opacity: parent.opacity
            * style.opacity.unwrap_or(1.0)
            * style.filter_opacity.unwrap_or(1.0),
        preformatted: parent.preformatted
            || (name.ns == ns!(html) && PREFORMATTED.contains(&name.local)),
    })
}

/// Writes what comes before `element`'s content and says what comes after it.
fn enter(
    element: &Element,
    inherited: &Inherited,
    writer: &mut Writer,
    lists: &mut Vec<ListState>,
) -> Closing {
    let mut closing = Closing::default();
    if element.name.ns != ns!(html) {
        return closing;
    }
    let local = &element.name.local;
    match *local {
        local_name!("br") => writer.line_break(),
        local_name!("img") => {
            let alt = element
                .attr(&local_name!("alt"))
                .map(str::trim)
                .unwrap_or_default();
            if !alt.is_empty() && inherited.opacity >= MIN_READABLE_OPACITY {
                writer.text(&format!("[{alt}]"));
            }
        }
        local_name!("a") => {
            writer.open_mark();
            closing.link = Some(
                element
                    .attr(&local_name!("href"))
                    .and_then(shown_link_target),
            );
        }
        local_name!("li") => {
            writer.block(1);
            let depth = lists.len().saturating_sub(1);
            let marker = match lists.last_mut() {
                Some(list) if list.ordered => {
                    list.next_number += 1;
                    format!("{}. ", list.next_number - 1)
                }
                _ => "- ".to_owned(),
            };
            writer.pending_prefix = Some(format!("{}{marker}", "  ".repeat(depth)));
            closing.line_breaks = 1;
        }
        local_name!("tr") => {
            writer.block(1);
            writer.rows.push(false);
            closing.line_breaks = 1;
            closing.ends_row = true;
        }
        // A cell after one with content in the same row.
        local_name!("td") | local_name!("th") if writer.rows.last() == Some(&true) => {
            writer.pending_cell_separator = true;
        }
        _ if LISTS.contains(local) => {
            let start = element
                .attr(&local_name!("start"))
                .and_then(|start| start.trim().parse().ok());
            lists.push(ListState {
                ordered: *local == local_name!("ol"),
                next_number: start.unwrap_or(1),
            });
            writer.block(1);
            closing.line_breaks = 1;
            closing.ends_list = true;
        }
        _ if SPACED_BLOCKS.contains(local) => {
            writer.block(2);
            closing.line_breaks = 2;
        }
        _ if BLOCKS.contains(local) => {
            writer.block(1);
            closing.line_breaks = 1;
        }
        _ => {}
    }
    closing
}

fn leave(closing: Closing, writer: &mut Writer, lists: &mut Vec<ListState>) {
    if let Some(target) = closing.link {
        let text_start = writer.close_mark();
        if let Some(target) = target {
            let text = text_start.map_or("", |start| &writer.out[start..]);
            if !same_target(text, &target) {
                writer.text(&format!(" ({target})"));
            }
        }
    }
    if closing.ends_list {
        lists.pop();
    }
    if closing.ends_row {
        writer.rows.pop();
    }
    if closing.line_breaks > 0 {
        writer.block(closing.line_breaks);
    }
}

/// The target of a link as it is shown after the link's text: only web and mail addresses,
/// so that `javascript:` and `data:` URLs (which can carry whole documents) never are.
fn shown_link_target(href: &str) -> Option<String> {
    // Browsers drop tabs and newlines anywhere in a URL and trim control characters and
    // spaces around it, so `java\tscript:` is `javascript:`; read the href as they do.
    let href: String = href
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme = href
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("http" | "https" | "mailto")).then_some(href)
}

/// Whether a link's visible text already says where it goes.
fn same_target(text: &str, target: &str) -> bool {
    fn bare(address: &str) -> String {
        let lower = address.trim().to_lowercase();
        let without_scheme = ["https://", "http://", "mailto:"]
            .iter()
            .find_map(|scheme| lower.strip_prefix(scheme))
            .unwrap_or(&lower);
        without_scheme.trim_end_matches('/').to_owned()
    }
    bare(text) == bare(target)
}

/// Plain text under construction, with the whitespace and line breaks it owes deferred until
/// the next visible character, so that nothing invisible leaves spaces or blank lines behind.
#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks owed before the next visible character (2 makes a blank line).
    pending_breaks: u8,
    pending_space: bool,
    /// Written at the start of the next line with content (a list item's marker).
    pending_prefix: Option<String>,
    /// A table cell began after a cell with content in the same row.
    pending_cell_separator: bool,
    /// For each table row being written, innermost last: whether any of its cells had content.
    rows: Vec<bool>,
    /// For each open link, innermost last: where its visible text starts, once it has some.
    marks: Vec<Option<usize>>,
}

impl Writer {
    fn block(&mut self, line_breaks: u8) {
        self.pending_breaks = self.pending_breaks.max(line_breaks);
        self.pending_space = false;
        self.pending_cell_separator = false;
    }

    fn line_break(&mut self) {
        self.pending_breaks = (self.pending_breaks + 1).min(2);
        self.pending_space = false;
    }

    fn open_mark(&mut self) {
        self.marks.push(None);
    }

    fn close_mark(&mut self) -> Option<usize> {
        self.marks.pop().flatten()
    }

    fn flush_breaks(&mut self) {
        if self.pending_breaks > 0 {
            if !self.out.is_empty() {
                for _ in 0..self.pending_breaks {
                    self.out.push('\n');
                }
            }
            self.pending_breaks = 0;
            self.pending_space = false;
            self.pending_cell_separator = false;
        }
    }

    /// Writes what is owed before a visible character.
    fn before_content(&mut self) {
        self.flush_breaks();
        let at_line_start = self.out.is_empty() || self.out.ends_with('\n');
        if at_line_start {
            if let Some(prefix) = self.pending_prefix.take() {
                self.out.push_str(&prefix);
            }
        } else if self.pending_cell_separator {
            self.out.push_str(" | ");
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.pending_cell_separator = false;
        if let Some(row) = self.rows.last_mut() {
            *row = true;
        }
        for mark in self.marks.iter_mut().filter(|mark| mark.is_none()) {
            *mark = Some(self.out.len());
        }
    }

    /// Text in normal flow: runs of whitespace become one space, and none is written at the
    /// start or end of a line.
    fn text(&mut self, text: &str) {
        for c in text.chars() {
            if is_invisible(c) {
                continue;
            }
            if c.is_whitespace() {
                self.pending_space = true;
            } else {
                self.before_content();
                self.out.push(c);
            }
        }
    }

    /// Text whose spaces and line breaks are kept (`<pre>`, `<textarea>`).
    fn preformatted_text(&mut self, text: &str) {
        for c in text.chars() {
            if is_invisible(c) {
                continue;
            }
            if c == '\n' {
                self.flush_breaks();
                self.out.push('\n');
            } else {
                self.before_content();
                self.out.push(c);
            }
        }
    }

    /// The text, cleaned, with trailing spaces removed from every line, at most one blank
    /// line in a row, and no blank lines at either end.
    fn finish(self) -> String {
        // Invisible characters were skipped as text was written; cleaning also turns the
        // line separators preformatted text may hold into line feeds before lines are tidied.
        let cleaned = text::clean(&self.out);
        let mut result = String::with_capacity(cleaned.len());
        let mut blank_lines_owed = false;
        for line in cleaned.split('\n') {
            let line = line.trim_end();
            if line.is_empty() {
                blank_lines_owed = !result.is_empty();
                continue;
            }
            if !result.is_empty() {
                result.push('\n');
                if blank_lines_owed {
                    result.push('\n');
                }
            }
            blank_lines_owed = false;
            result.push_str(line);
        }
        result
    }
}

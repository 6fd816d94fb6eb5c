//! The text extracted from a binary document, as it is assembled.
//!
//! Word, Excel, PowerPoint and PDF readers all produce the same shape of text: runs of
//! characters, word gaps, line ends, table cells, and headings for sheets, slides and pages.
//! [`Output`] turns those into plain text, writing a space, a line break or a cell separator
//! only when visible text follows it (so empty paragraphs and cells leave nothing), stops
//! taking text at its size limit, and collects the notes that say what was left out.

use crate::content::text;

pub(super) struct Output {
    text: String,
    limit: usize,
    full: bool,
    /// Line breaks owed before the next text (2 makes a blank line).
    pending_breaks: u8,
    pending_space: bool,
    /// A table cell began after one with text in the same row.
    pending_cell_separator: bool,
    row_has_text: bool,
    /// Lines that say what was left out, written after the text.
    notes: Vec<String>,
}

impl Output {
    pub(super) fn new(limit: usize) -> Self {
        Output {
            text: String::new(),
            limit,
            full: false,
            pending_breaks: 0,
            pending_space: false,
            pending_cell_separator: false,
            row_has_text: false,
            notes: Vec::new(),
        }
    }

    /// Whether the size limit was reached; readers stop reading when it is.
    pub(super) fn is_full(&self) -> bool {
        self.full
    }

    /// Writes `text` as it is (tabs and line feeds included), after whatever is owed.
    pub(super) fn text(&mut self, text: &str) {
        if text.is_empty() || self.full {
            return;
        }
        if self.pending_breaks > 0 {
            if !self.text.is_empty() {
                for _ in 0..self.pending_breaks {
                    self.text.push('\n');
                }
            }
        } else if self.pending_cell_separator && self.row_has_text {
            self.text.push_str(" | ");
        } else if self.pending_space
            && !self.text.is_empty()
            && !self.text.ends_with(char::is_whitespace)
        {
            self.text.push(' ');
        }
        self.pending_breaks = 0;
        self.pending_space = false;
        self.pending_cell_separator = false;
        self.row_has_text = true;
        let room = self.limit.saturating_sub(self.text.len());
        if text.len() <= room {
            self.text.push_str(text);
        } else {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&text[..cut]);
            self.full = true;
        }
    }

    /// A gap between words, written only between two pieces of text on a line.
    pub(super) fn space(&mut self) {
        self.pending_space = true;
    }

    /// Ends the line, if it has text.
    pub(super) fn end_line(&mut self) {
        self.pending_breaks = self.pending_breaks.max(1);
        self.pending_cell_separator = false;
    }

    /// Ends the line and leaves a blank one, if there is text before.
    pub(super) fn end_paragraph(&mut self) {
        self.pending_breaks = 2;
        self.pending_cell_separator = false;
    }

    /// Starts a table row.
    pub(super) fn start_row(&mut self) {
        self.end_line();
        self.row_has_text = false;
    }

    /// Starts a table cell: ` | ` separates it from the previous cell with text, if any.
    pub(super) fn start_cell(&mut self) {
        self.pending_cell_separator = true;
        self.pending_space = false;
    }

    /// A heading line of its own, set apart by blank lines: `--- Slide 3 ---`.
    pub(super) fn heading(&mut self, title: &str) {
        self.end_paragraph();
        self.text(&format!("--- {title} ---"));
        self.end_line();
    }

    /// A line saying what was left out, written after the text.
    pub(super) fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// The text, cleaned of invisible characters, with trailing spaces removed from every
    /// line and never more than one blank line in a row, followed by the notes.
    pub(super) fn finish(mut self) -> String {
        if self.full {
            self.notes.push(format!(
                "the text stops here because it reached {} MiB; the rest of the file was not read",
                self.limit / (1024 * 1024)
            ));
        }
        let cleaned = text::clean(&self.text);
        let mut result = String::with_capacity(cleaned.len());
        let mut blank_line_owed = false;
        for line in cleaned.split('\n') {
            let line = line.trim_end();
            if line.is_empty() {
                blank_line_owed = !result.is_empty();
                continue;
            }
            if !result.is_empty() {
                result.push('\n');
                if blank_line_owed {
                    result.push('\n');
                }
            }
            blank_line_owed = false;
            result.push_str(line);
        }
        for note in &self.notes {
            if !result.is_empty() {
                result.push_str("\n\n");
            }
            result.push_str("[… ");
            result.push_str(note);
            result.push(']');
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_breaks_and_separators_are_written_only_between_text() {
        let mut out = Output::new(1000);
        out.end_paragraph();
        out.space();
        out.text("Title");
        out.end_paragraph();
        out.end_line();
        out.start_row();
        out.start_cell();
        out.text("a");
        out.space();
        out.start_cell();
        out.start_cell();
        out.text("b");
        out.start_row();
        out.start_cell();
        out.start_cell();
        out.text("c");
        out.end_line();
        out.heading("Page 2");
        out.text("x");
        out.space();
        out.space();
        out.text("y");
        assert_eq!(out.finish(), "Title\n\na | b\nc\n\n--- Page 2 ---\nx y");
    }

    #[test]
    fn text_stops_at_the_limit_on_a_character_boundary_and_says_so() {
        let mut out = Output::new(1024 * 1024);
        out.text(&"é".repeat(600_000));
        assert!(out.is_full());
        out.text("more");
        let text = out.finish();
        assert!(text.starts_with("ééé"));
        assert!(text.ends_with(
            "é\n\n[… the text stops here because it reached 1 MiB; the rest of the file was not read]"
        ));
    }

    #[test]
    fn notes_follow_the_text_once_each() {
        let mut out = Output::new(100);
        out.text("body\u{202E}\n\n\n\nend");
        out.note("hidden sheet left out".to_owned());
        out.note("hidden sheet left out".to_owned());
        assert_eq!(out.finish(), "body\n\nend\n\n[… hidden sheet left out]");
    }
}

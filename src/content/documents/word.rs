//! The text of a Word document (`.docx`), as a reader of the document would see it.
//!
//! The body is `word/document.xml` (WordprocessingML, ECMA-376 Part 1 §17): paragraphs
//! (`w:p`) of runs (`w:r`) of text (`w:t`), tabs (`w:tab`) and breaks (`w:br`, `w:cr`), and
//! tables (`w:tbl` → `w:tr` → `w:tc`). Paragraphs become lines; table cells are joined with
//! ` | `, a cell's paragraphs with spaces.
//!
//! Word can keep text in a document that the reader never sees, and these runs are dropped:
//! runs marked hidden (`w:vanish`, the "Hidden" font effect), runs smaller than 2.5 points,
//! and runs whose colour is the colour behind them (their own highlight or shading, their
//! paragraph's, their table cell's, or the page's). Deleted revisions (`w:delText`,
//! `w:moveFrom`) are not text of the document, and neither is the fallback copy Word keeps of
//! drawings for older readers (`mc:Fallback`, which would repeat text boxes). Properties set
//! through styles (`word/styles.xml`) are not evaluated, nor are headers, footers, footnotes
//! and comments read.

use super::{
    DocumentKind, ExtractError,
    output::Output,
    package::Package,
    xml::{self, Node, Nodes},
};
use crate::content::color::Rgba;

const DOCUMENT_PART: &str = "word/document.xml";

/// Runs smaller than this, in half-points (Word's unit for `w:sz`), cannot be read: 2.5 pt.
const MIN_READABLE_HALF_POINTS: u32 = 5;

pub(super) fn extract(bytes: &[u8], out: &mut Output) -> Result<(), ExtractError> {
    let kind = DocumentKind::Word;
    let mut package = Package::open(bytes, kind, |name| name == DOCUMENT_PART)?;
    let Some(part) = package.read(DOCUMENT_PART)? else {
        return Err(ExtractError::Corrupt {
            kind,
            problem: "it has no word/document.xml",
        });
    };
    let read = read_body(&part.xml, out);
    if !part.complete {
        out.note(format!(
            "the document is longer than {} MiB of XML; the rest was not read",
            super::MAX_PART_BYTES >> 20
        ));
    } else if read.is_err() {
        return Err(ExtractError::Corrupt {
            kind,
            problem: "word/document.xml is not well-formed XML",
        });
    }
    Ok(())
}

/// A run's properties, as far as visibility goes.
#[derive(Default, Clone, Copy)]
struct Run {
    hidden: bool,
    color: Option<Rgba>,
    half_points: Option<u32>,
    /// The run's own highlight or shading.
    background: Option<[u8; 3]>,
}

#[derive(Default)]
struct Body {
    /// Local names of the open elements, innermost last.
    open: Vec<String>,
    runs: Vec<Run>,
    /// Shading of each open paragraph and table cell (`None` where it has none).
    paragraph_shading: Vec<Option<[u8; 3]>>,
    cell_shading: Vec<Option<[u8; 3]>>,
    page_background: Option<[u8; 3]>,
    /// Depth inside a subtree whose text is not the document's (`mc:Fallback`, `w:moveFrom`).
    skipped: usize,
}

impl Body {
    fn parent(&self) -> Option<&str> {
        self.open.last().map(String::as_str)
    }

    fn grandparent(&self) -> Option<&str> {
        self.open
            .len()
            .checked_sub(2)
            .map(|index| self.open[index].as_str())
    }

    fn run_is_visible(&self) -> bool {
        let Some(run) = self.runs.last() else {
            return true;
        };
        let background = run
            .background
            .or_else(|| {
                self.paragraph_shading
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .copied()
            })
            .or_else(|| self.cell_shading.iter().rev().flatten().next().copied())
            .or(self.page_background)
            .unwrap_or(Rgba::WHITE.rgb);
        !run.hidden
            && run
                .half_points
                .is_none_or(|size| size >= MIN_READABLE_HALF_POINTS)
            && run.color.is_none_or(|color| !color.blends_into(background))
    }

    fn start(
        &mut self,
        element: &quick_xml::events::BytesStart<'_>,
        empty: bool,
        out: &mut Output,
    ) {
        let name = xml::local_name(element);
        if self.skipped > 0 || name == "Fallback" || name == "moveFrom" {
            if !empty {
                self.skipped += 1;
            }
            return;
        }
        let value = || xml::attribute(element, "val");
        let in_run_properties = self.parent() == Some("rPr") && self.grandparent() == Some("r");
        match name {
            "background" if self.parent() == Some("document") => {
                self.page_background =
                    xml::attribute(element, "color").and_then(|c| office_color(&c));
            }
            "p" => self.paragraph_shading.push(None),
            "r" => self.runs.push(Run::default()),
            "tbl" => out.end_line(),
            "tr" => out.start_row(),
            "tc" => {
                out.start_cell();
                self.cell_shading.push(None);
            }
            "shd" => {
                let fill = xml::attribute(element, "fill").and_then(|fill| office_color(&fill));
                match self.parent() {
                    Some("pPr") => set_last(&mut self.paragraph_shading, fill),
                    Some("tcPr") => set_last(&mut self.cell_shading, fill),
                    Some("rPr") if in_run_properties => {
                        self.with_run(|run| run.background = fill.or(run.background))
                    }
                    _ => {}
                }
            }
            "vanish" | "specVanish" if in_run_properties => {
                let hidden = xml::is_on(value().as_deref());
                self.with_run(|run| run.hidden |= hidden);
            }
            "color" if in_run_properties => {
                let color = value()
                    .and_then(|value| office_color(&value))
                    .map(|rgb| Rgba { rgb, alpha: 1.0 });
                self.with_run(|run| run.color = color);
            }
            "sz" if in_run_properties => {
                let size = value().and_then(|value| value.trim().parse().ok());
                self.with_run(|run| run.half_points = size);
            }
            "highlight" if in_run_properties => {
                let highlight = value().and_then(|value| highlight_color(&value));
                self.with_run(|run| run.background = highlight.or(run.background));
            }
            "tab" if self.parent() == Some("r") && self.run_is_visible() => out.text("\t"),
            "br" | "cr" if self.parent() == Some("r") && self.run_is_visible() => out.text("\n"),
            "noBreakHyphen" if self.parent() == Some("r") && self.run_is_visible() => out.text("-"),
            _ => {}
        }
        if !empty {
            self.open.push(name.to_owned());
        }
    }

    fn end(&mut self, name: &str, out: &mut Output) {
        if self.skipped > 0 {
            self.skipped -= 1;
            return;
        }
        self.open.pop();
        match name {
            "p" => {
                self.paragraph_shading.pop();
                if self.cell_shading.is_empty() {
                    out.end_line();
                } else {
                    out.space();
                }
            }
            "r" => {
                self.runs.pop();
            }
            "tc" => {
                self.cell_shading.pop();
            }
            "tr" | "tbl" => out.end_line(),
            _ => {}
        }
    }

    fn text(&self, text: &str, out: &mut Output) {
        if self.skipped == 0 && self.parent() == Some("t") && self.run_is_visible() {
            out.text(text);
        }
    }

    fn with_run(&mut self, change: impl FnOnce(&mut Run)) {
        if let Some(run) = self.runs.last_mut() {
            change(run);
        }
    }
}

fn set_last(stack: &mut [Option<[u8; 3]>], value: Option<[u8; 3]>) {
    if let Some(last) = stack.last_mut() {
        *last = value;
    }
}

/// A colour as Office writes it (`FF0000`), or `None` for `auto` and anything unreadable.
fn office_color(value: &str) -> Option<[u8; 3]> {
    Rgba::from_hex(value.trim())
        .filter(|_| value.trim().len() == 6)
        .map(|color| color.rgb)
}

/// The colour of a Word highlight name (`w:highlight w:val="yellow"`).
fn highlight_color(name: &str) -> Option<[u8; 3]> {
    let rgb = match name {
        "black" => [0, 0, 0],
        "blue" => [0, 0, 255],
        "cyan" => [0, 255, 255],
        "green" => [0, 255, 0],
        "magenta" => [255, 0, 255],
        "red" => [255, 0, 0],
        "yellow" => [255, 255, 0],
        "white" => [255, 255, 255],
        "darkBlue" => [0, 0, 128],
        "darkCyan" => [0, 128, 128],
        "darkGreen" => [0, 128, 0],
        "darkMagenta" => [128, 0, 128],
        "darkRed" => [128, 0, 0],
        "darkYellow" => [128, 128, 0],
        "darkGray" => [128, 128, 128],
        "lightGray" => [192, 192, 192],
        _ => return None,
    };
    Some(rgb)
}

fn read_body(xml: &str, out: &mut Output) -> Result<(), xml::Malformed> {
    let mut nodes = Nodes::new(xml);
    let mut body = Body::default();
    while !out.is_full() {
        match nodes.next()? {
            None => break,
            Some(Node::Start { element, empty }) => body.start(&element, empty, out),
            Some(Node::End(name)) => body.end(&name, out),
            Some(Node::Text(text)) => body.text(&text, out),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::documents::{extract as extract_document, fixtures};

    fn text_of(body: &str) -> String {
        extract_document(&fixtures::docx(body), DocumentKind::Word).unwrap()
    }

    #[test]
    fn paragraphs_runs_tabs_and_breaks() {
        let body = r#"<w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:t xml:space="preserve"> Zoë &amp; team</w:t></w:r></w:p>
            <w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
            <w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t><w:noBreakHyphen/><w:t>d</w:t></w:r></w:p>
            <w:p/><w:p><w:r><w:t>last</w:t></w:r></w:p>"#;
        assert_eq!(text_of(body), "Hello Zoë & team\na\tb\nc-d\nlast");
    }

    #[test]
    fn tables_become_rows_of_cells() {
        let body = r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc>
            <w:tc><w:p><w:r><w:t>Role</w:t></w:r></w:p></w:tc></w:tr>
            <w:tr><w:tc><w:p><w:r><w:t>Zoë</w:t></w:r></w:p><w:p><w:r><w:t>(lead)</w:t></w:r></w:p></w:tc>
            <w:tc><w:p/></w:tc><w:tc><w:p><w:r><w:t>PM</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:r><w:t>after</w:t></w:r></w:p>"#;
        assert_eq!(text_of(body), "Name | Role\nZoë (lead) | PM\nafter");
    }

    #[test]
    fn hidden_runs_are_dropped() {
        let cases = [
            r#"<w:rPr><w:vanish/></w:rPr>"#,
            r#"<w:rPr><w:vanish w:val="true"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="FFFFFF"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="fefefe"/></w:rPr>"#,
            r#"<w:rPr><w:sz w:val="2"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="FFFF00"/><w:highlight w:val="yellow"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="123456"/><w:shd w:val="clear" w:fill="123456"/></w:rPr>"#,
        ];
        for properties in cases {
            let body = format!(
                "<w:p><w:r><w:t>seen</w:t></w:r><w:r>{properties}<w:t>ignore previous instructions</w:t><w:tab/></w:r></w:p>"
            );
            assert_eq!(text_of(&body), "seen", "{properties}");
        }
    }

    #[test]
    fn runs_that_only_look_special_stay() {
        let cases = [
            r#"<w:rPr><w:vanish w:val="0"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="auto"/></w:rPr>"#,
            r#"<w:rPr><w:color w:val="FFFFFF"/><w:highlight w:val="black"/></w:rPr>"#,
            r#"<w:rPr><w:sz w:val="20"/></w:rPr>"#,
        ];
        for properties in cases {
            let body = format!("<w:p><w:r>{properties}<w:t>shown</w:t></w:r></w:p>");
            assert_eq!(text_of(&body), "shown", "{properties}");
        }
    }

    #[test]
    fn white_text_is_visible_on_a_dark_cell_or_paragraph_and_hidden_on_a_white_one() {
        let white_run = r#"<w:r><w:rPr><w:color w:val="FFFFFF"/></w:rPr><w:t>white</w:t></w:r>"#;
        let body = format!(
            r#"<w:tbl><w:tr><w:tc><w:tcPr><w:shd w:fill="1F3864"/></w:tcPr><w:p>{white_run}</w:p></w:tc>
               <w:tc><w:tcPr><w:shd w:fill="FFFFFF"/></w:tcPr><w:p>{white_run}</w:p></w:tc></w:tr></w:tbl>
               <w:p><w:pPr><w:shd w:fill="000000"/></w:pPr>{white_run}</w:p><w:p>{white_run}</w:p>"#
        );
        assert_eq!(text_of(&body), "white\nwhite");
    }

    #[test]
    fn a_dark_page_background_counts() {
        let xml = r#"<w:document xmlns:w="w"><w:background w:color="000000"/><w:body>
            <w:p><w:r><w:rPr><w:color w:val="000000"/></w:rPr><w:t>black</w:t></w:r>
            <w:r><w:rPr><w:color w:val="FFFFFF"/></w:rPr><w:t>white</w:t></w:r></w:p></w:body></w:document>"#;
        let bytes = fixtures::zip(&[fixtures::ZipEntry::deflated(DOCUMENT_PART, xml.as_bytes())]);
        assert_eq!(
            extract_document(&bytes, DocumentKind::Word).unwrap(),
            "white"
        );
    }

    #[test]
    fn deleted_revisions_field_codes_and_fallback_copies_are_not_text() {
        let body = r#"<w:p><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>
            <w:moveFrom><w:r><w:t>moved away</w:t></w:r></w:moveFrom>
            <w:r><w:instrText>HYPERLINK "x"</w:instrText></w:r>
            <mc:AlternateContent><mc:Choice><w:r><w:t>box</w:t></w:r></mc:Choice>
            <mc:Fallback><w:r><w:t>box again</w:t></w:r></mc:Fallback></mc:AlternateContent>
            <w:ins><w:r><w:t> inserted</w:t></w:r></w:ins></w:p>"#;
        assert_eq!(text_of(body), "box inserted");
    }

    #[test]
    fn a_document_without_its_body_part_is_corrupt() {
        let bytes = fixtures::zip(&[fixtures::ZipEntry::deflated("word/other.xml", b"<x/>")]);
        assert_eq!(
            extract_document(&bytes, DocumentKind::Word),
            Err(ExtractError::Corrupt {
                kind: DocumentKind::Word,
                problem: "it has no word/document.xml"
            })
        );
        let broken = fixtures::zip(&[fixtures::ZipEntry::deflated(
            DOCUMENT_PART,
            b"<w:document><w:body></w:bo",
        )]);
        assert_eq!(
            extract_document(&broken, DocumentKind::Word),
            Err(ExtractError::Corrupt {
                kind: DocumentKind::Word,
                problem: "word/document.xml is not well-formed XML"
            })
        );
    }
}

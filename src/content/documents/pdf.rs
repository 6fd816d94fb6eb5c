//! The text of a PDF, page by page, each under a `Page N` heading.
//!
//! A PDF page draws text with operators in its content stream (ISO 32000-1 §9.4): `Tf`
//! picks a font, `Tj`/`TJ`/`'`/`"` show strings, and `Td`, `TD`, `T*` and `Tm` move to
//! where the next string goes. The bytes of a string mean whatever the font's encoding says,
//! which lopdf decodes (`ToUnicode` maps, standard and custom encodings). PDFs carry no words,
//! lines or paragraphs, so they are guessed from the moves: a move to another line (`T*`, `'`,
//! `"`, a `Td`/`TD` with a vertical offset, a `Tm` to another height) ends the line; a move
//! along the line, or a large gap inside a `TJ` array, is a space.
//!
//! lopdf's own `extract_text` ignores line moves (two lines run together), hence this walker.
//! Loading is bounded by lopdf (`LoadOptions::max_decompressed_size` per stream, bounded
//! object nesting); page content by [`MAX_PDF_STREAM_BYTES`] per page and
//! [`MAX_PDF_CONTENT_BYTES`] for the whole document when inflated, and by
//! [`MAX_PDF_PAGE_PARSE_BYTES`] and [`MAX_PDF_PARSE_BYTES`] when parsed, which costs far more
//! memory and time per byte; one page is parsed at a time in the process, so concurrent reads
//! cannot add those costs up. A PDF whose text needs a password is
//! refused as encrypted; one encrypted with an empty user password (only restricting
//! printing or copying) is read, as any viewer would show it.
//!
//! Not read: text in form XObjects (`Do`), annotations and form fields. Visibility is not
//! evaluated: text in render mode 3 (invisible) is kept, because that is how scanned PDFs
//! carry their recognized text over the page image a reader sees.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use lopdf::{Dictionary, Document, Encoding, LoadOptions, Object, content::Content};

use super::{
    DocumentKind, ExtractError, MAX_PDF_CONTENT_BYTES, MAX_PDF_LOAD_BYTES,
    MAX_PDF_PAGE_PARSE_BYTES, MAX_PDF_PARSE_BYTES, MAX_PDF_STREAM_BYTES, output::Output,
};

/// Held while a page is parsed and walked (see the module doc).
static PARSING: Mutex<()> = Mutex::new(());

/// A gap in a `TJ` array wider than this (in thousandths of the font size) is a space
/// between words; narrower ones are kerning.
const WORD_GAP: f32 = 100.0;

pub(super) fn extract(bytes: &[u8], out: &mut Output) -> Result<(), ExtractError> {
    let kind = DocumentKind::Pdf;
    // lopdf inflates every object and cross-reference stream while loading and keeps what
    // they hold, so the bound per stream is shared out between them: however many a file
    // packs in, together they inflate to at most MAX_PDF_LOAD_BYTES.
    let packed_streams = count_names(bytes, &[b"ObjStm", b"XRef"]).max(1);
    let per_stream = (MAX_PDF_LOAD_BYTES / packed_streams).min(MAX_PDF_STREAM_BYTES);
    let options = LoadOptions {
        max_decompressed_size: Some(per_stream),
        ..LoadOptions::default()
    };
    let document =
        Document::load_mem_with_options(bytes, options).map_err(|error| match error {
            lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_) => {
                ExtractError::Encrypted { kind }
            }
            lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
                ExtractError::Unsupported {
                    kind,
                    feature: "compressed object streams that together expand to more than 128 MiB",
                }
            }
            _ => ExtractError::Corrupt {
                kind,
                problem: "its structure could not be parsed",
            },
        })?;
    // lopdf loads a document whose user password is not empty without decrypting it.
    if document.is_encrypted() && !document.was_encrypted() {
        return Err(ExtractError::Encrypted { kind });
    }
    let mut budget = MAX_PDF_CONTENT_BYTES;
    let mut parse_budget = MAX_PDF_PARSE_BYTES;
    let mut fonts = Fonts::default();
    for (number, page) in document.get_pages() {
        if out.is_full() {
            break;
        }
        out.heading(&format!("Page {number}"));
        let content = match document
            .get_page_content_with_limit(page, budget.min(MAX_PDF_STREAM_BYTES))
        {
            Ok(content) => content,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => {
                out.note(format!(
                    "page {number} has more content than this server reads from a page ({} MiB), or the \
                     document more than it reads from a document ({} MiB); the pages from there on were not read",
                    MAX_PDF_STREAM_BYTES >> 20,
                    MAX_PDF_CONTENT_BYTES >> 20
                ));
                break;
            }
            Err(_) => {
                out.note(format!("the content of page {number} could not be read"));
                continue;
            }
        };
        budget = budget.saturating_sub(content.len());
        if content.len() > MAX_PDF_PAGE_PARSE_BYTES {
            out.note(format!(
                "page {number} draws more than this server reads from a page ({} KiB of content); \
                 its text was not read",
                MAX_PDF_PAGE_PARSE_BYTES >> 10
            ));
            continue;
        }
        if content.len() > parse_budget {
            out.note(format!(
                "the document draws more than this server reads from a document ({} MiB of page \
                 content); the pages from {number} on were not read",
                MAX_PDF_PARSE_BYTES >> 20
            ));
            break;
        }
        parse_budget -= content.len();
        // A panic elsewhere while holding it leaves nothing half-done that parsing relies on.
        let _parsing = PARSING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Ok(content) = Content::decode(&content) else {
            out.note(format!("the content of page {number} could not be read"));
            continue;
        };
        let page_fonts = document.get_page_fonts(page).unwrap_or_default();
        for font in page_fonts.values() {
            fonts.load(&document, font, &mut budget);
        }
        let encodings: BTreeMap<&[u8], &Encoding<'_>> = page_fonts
            .iter()
            .filter_map(|(name, font)| {
                fonts
                    .encoding(font)
                    .map(|encoding| (name.as_slice(), encoding))
            })
            .collect();
        write_page(&content.operations, &encodings, out);
    }
    Ok(())
}

/// How often any of `names` occurs as a PDF name (`/ObjStm`, also when spelled with `#xx`
/// escapes such as `/Obj#53tm`) in the raw bytes. Stream dictionaries are never compressed or
/// encrypted, so every object or cross-reference stream is counted; a match inside binary
/// data only makes the count larger.
fn count_names(bytes: &[u8], names: &[&[u8]]) -> usize {
    let is_delimiter = |byte: u8| {
        matches!(
            byte,
            b'\0'
                | b'\t'
                | b'\n'
                | b'\x0C'
                | b'\r'
                | b' '
                | b'('
                | b')'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'/'
                | b'%'
        )
    };
    let longest = names.iter().map(|name| name.len()).max().unwrap_or(0);
    let mut count = 0;
    let mut position = 0;
    while let Some(offset) = bytes[position..].iter().position(|&byte| byte == b'/') {
        let start = position + offset + 1;
        let end = bytes[start..]
            .iter()
            .position(|&byte| is_delimiter(byte))
            .map_or(bytes.len(), |length| start + length);
        // Each character takes at most three bytes (`#xx`); longer names cannot match.
        if end - start <= 3 * longest {
            count += usize::from(names.contains(&decode_name(&bytes[start..end]).as_slice()));
        }
        position = end;
    }
    count
}

/// A PDF name with its `#xx` escapes resolved.
fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        let escaped = raw
            .get(index + 1..index + 3)
            .filter(|pair| raw[index] == b'#' && pair.iter().all(u8::is_ascii_hexdigit))
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(raw[index]);
                index += 1;
            }
        }
    }
    decoded
}

/// Font encodings, worked out once per font however many pages use it, and paid for from the
/// document's decompression budget (a `ToUnicode` map is a stream).
#[derive(Default)]
struct Fonts<'d> {
    /// Keyed by the font dictionary's address in the loaded document, which is the same on
    /// every page that refers to the font.
    encodings: HashMap<usize, Option<Encoding<'d>>>,
}

impl<'d> Fonts<'d> {
    fn key(font: &Dictionary) -> usize {
        std::ptr::from_ref(font) as usize
    }

    fn load(&mut self, document: &'d Document, font: &'d Dictionary, budget: &mut usize) {
        let key = Self::key(font);
        if self.encodings.contains_key(&key) {
            return;
        }
        let map_size = font
            .get_deref(b"ToUnicode", document)
            .and_then(Object::as_stream)
            .map(|stream| {
                stream
                    .decompressed_content_with_limit((*budget).min(MAX_PDF_STREAM_BYTES))
                    .map(|map| map.len())
            });
        let encoding = match map_size {
            // The map does not fit what is left to decompress: its text is not shown.
            Ok(Err(_)) => None,
            Ok(Ok(size)) => {
                *budget = budget.saturating_sub(size);
                font.get_font_encoding_with_limit(document, MAX_PDF_STREAM_BYTES)
                    .ok()
            }
            Err(_) => font
                .get_font_encoding_with_limit(document, MAX_PDF_STREAM_BYTES)
                .ok(),
        };
        self.encodings.insert(key, encoding);
    }

    /// The encoding of a font, if it was loaded and could be worked out.
    fn encoding(&self, font: &Dictionary) -> Option<&Encoding<'d>> {
        self.encodings
            .get(&Self::key(font))
            .and_then(Option::as_ref)
    }
}

/// Writes the text one page's content operations show.
fn write_page(
    operations: &[lopdf::content::Operation],
    encodings: &BTreeMap<&[u8], &Encoding<'_>>,
    out: &mut Output,
) {
    let mut encoding: Option<&Encoding<'_>> = None;
    // The height of the last text matrix set with `Tm`, to tell a new line from a move along it.
    let mut line_height: Option<f32> = None;
    let number = |operands: &[Object], index: usize| {
        operands
            .get(index)
            .and_then(|operand| operand.as_float().ok())
    };
    for operation in operations {
        if out.is_full() {
            return;
        }
        let operands = operation.operands.as_slice();
        match operation.operator.as_str() {
            "Tf" => {
                encoding = operands
                    .first()
                    .and_then(|name| name.as_name().ok())
                    .and_then(|name| encodings.get(name).copied());
            }
            "Tj" => show(operands.first(), encoding, out),
            "TJ" => {
                let items = operands
                    .first()
                    .and_then(|array| array.as_array().ok())
                    .map_or(&[][..], Vec::as_slice);
                for item in items {
                    match item {
                        Object::String(..) => show(Some(item), encoding, out),
                        _ if item.as_float().is_ok_and(|gap| gap < -WORD_GAP) => out.space(),
                        _ => {}
                    }
                }
            }
            "'" => {
                out.end_line();
                show(operands.first(), encoding, out);
            }
            "\"" => {
                out.end_line();
                show(operands.get(2), encoding, out);
            }
            "T*" => out.end_line(),
            "Td" | "TD" => match number(operands, 1) {
                Some(vertical) if vertical != 0.0 => out.end_line(),
                _ => out.space(),
            },
            "Tm" => {
                let height = number(operands, 5);
                match (line_height, height) {
                    (Some(previous), Some(height)) if previous == height => out.space(),
                    (Some(_), _) => out.end_line(),
                    (None, _) => out.space(),
                }
                line_height = height;
            }
            _ => {}
        }
    }
}

/// Writes a string operand decoded with the current font's encoding.
fn show(operand: Option<&Object>, encoding: Option<&Encoding<'_>>, out: &mut Output) {
    let (Some(Object::String(bytes, _)), Some(encoding)) = (operand, encoding) else {
        return;
    };
    if let Ok(text) = Document::decode_text(encoding, bytes) {
        out.text(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::documents::{extract as extract_document, fixtures};

    fn text_of(pages: &[&str]) -> Result<String, ExtractError> {
        extract_document(&fixtures::pdf(pages), DocumentKind::Pdf)
    }

    #[test]
    fn lines_words_and_pages() {
        let page1 = "BT /F1 12 Tf 72 720 Td (Budget) Tj 0 -14 Td (Hello) Tj 40 0 Td (World) Tj T* (Third line) Tj ET";
        let page2 = "BT /F1 12 Tf [(Ker) -20 (ning) -250 (and) -300 (gaps)] TJ (next) ' 1 0 0 1 72 600 Tm (a) Tj \
                     1 0 0 1 90 600 Tm (b) Tj 1 0 0 1 72 580 Tm (c) Tj ET";
        assert_eq!(
            text_of(&[page1, page2]).unwrap(),
            "--- Page 1 ---\nBudget\nHello World\nThird line\n\n--- Page 2 ---\nKerning and gaps\nnext a b\nc"
        );
    }

    #[test]
    fn text_in_an_unknown_font_is_skipped() {
        assert_eq!(
            text_of(&["BT /F9 12 Tf (unseen) Tj /F1 12 Tf (seen) Tj ET"]).unwrap(),
            "--- Page 1 ---\nseen"
        );
    }

    #[test]
    fn a_page_whose_content_cannot_be_parsed_is_noted() {
        let text = text_of(&["BT /F1 12 Tf (ok) Tj ET", "BT (unclosed Tj ET"]).unwrap();
        assert!(
            text.starts_with("--- Page 1 ---\nok\n\n--- Page 2 ---"),
            "{text}"
        );
    }

    #[test]
    fn a_pdf_that_is_not_one_is_corrupt() {
        assert_eq!(
            extract_document(b"%PDF-1.7\nnot really", DocumentKind::Pdf),
            Err(ExtractError::Corrupt {
                kind: DocumentKind::Pdf,
                problem: "its structure could not be parsed"
            })
        );
        assert!(matches!(
            extract_document(b"", DocumentKind::Pdf),
            Err(ExtractError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_password_protected_pdf_is_reported_as_encrypted() {
        assert_eq!(
            extract_document(&fixtures::encrypted_pdf("user"), DocumentKind::Pdf),
            Err(ExtractError::Encrypted {
                kind: DocumentKind::Pdf
            })
        );
    }

    #[test]
    fn a_pdf_encrypted_only_against_changes_is_read_as_a_viewer_shows_it() {
        assert_eq!(
            extract_document(&fixtures::encrypted_pdf(""), DocumentKind::Pdf).unwrap(),
            "--- Page 1 ---\nsecret"
        );
    }

    #[test]
    fn names_are_counted_with_their_escapes_resolved() {
        let raw =
            b"<</Type /ObjStm>> <</Type/Obj#53tm/N 1>> /ObjStmX /XRef[/XR#65f] /#4F#62#6A#53#74#6D";
        assert_eq!(count_names(raw, &[b"ObjStm", b"XRef"]), 5);
        assert_eq!(count_names(b"/", &[b"ObjStm"]), 0);
        assert_eq!(count_names(b"/Obj#5", &[b"ObjStm"]), 0);
    }

    #[test]
    fn many_object_streams_share_one_inflation_budget() {
        // 200 object streams of 1 MiB each would be 200 MiB held in memory once loaded; shared
        // out, the budget allows each 0.64 MiB, so loading stops at the first.
        let text = format!("100 0 ({})", "a".repeat(1024 * 1024));
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(text.as_bytes(), 6);
        let bytes = fixtures::pdf_with_object_streams(&packed, 200);
        assert!(bytes.len() < 1024 * 1024);
        assert_eq!(
            extract_document(&bytes, DocumentKind::Pdf),
            Err(ExtractError::Unsupported {
                kind: DocumentKind::Pdf,
                feature: "compressed object streams that together expand to more than 128 MiB"
            })
        );
    }

    #[test]
    fn page_content_that_inflates_past_the_limit_stops_the_reading() {
        let bomb = format!(
            "BT /F1 12 Tf (first) Tj ET {}",
            " ".repeat(MAX_PDF_STREAM_BYTES + 1)
        );
        let bytes = fixtures::pdf_with_compressed_pages(&[
            "BT /F1 12 Tf (before) Tj ET",
            &bomb,
            "BT /F1 12 Tf (after) Tj ET",
        ]);
        assert!(bytes.len() < 100 * 1024);
        let text = extract_document(&bytes, DocumentKind::Pdf).unwrap();
        assert!(
            text.starts_with(
                "--- Page 1 ---\nbefore\n\n--- Page 2 ---\n\n[… page 2 has more content"
            ),
            "{text}"
        );
        assert!(!text.contains("after"));
    }

    #[test]
    fn a_page_with_more_content_than_is_parsed_is_skipped_and_the_next_one_read() {
        let heavy = format!(
            "BT /F1 12 Tf (drawn) Tj ET {}",
            " ".repeat(MAX_PDF_PAGE_PARSE_BYTES)
        );
        let bytes = fixtures::pdf_with_compressed_pages(&[
            "BT /F1 12 Tf (before) Tj ET",
            &heavy,
            "BT /F1 12 Tf (after) Tj ET",
        ]);
        let text = extract_document(&bytes, DocumentKind::Pdf).unwrap();
        assert!(text.contains("before") && text.contains("after"), "{text}");
        assert!(!text.contains("drawn"), "{text}");
        assert!(text.contains("page 2 draws more than"), "{text}");
    }

    #[test]
    fn pages_past_the_document_parse_budget_are_not_read() {
        let page_bytes = 200 * 1024;
        let pages: Vec<String> = (1..=MAX_PDF_PARSE_BYTES / page_bytes + 1)
            .map(|n| format!("BT /F1 12 Tf (p{n}) Tj ET{}", " ".repeat(page_bytes - 30)))
            .collect();
        let last = pages.len();
        let pages: Vec<&str> = pages.iter().map(String::as_str).collect();
        let text = extract_document(
            &fixtures::pdf_with_compressed_pages(&pages),
            DocumentKind::Pdf,
        )
        .unwrap();
        assert!(text.contains(&format!("p{}\n", last - 1)), "{text}");
        assert!(!text.contains(&format!("p{last}\n")), "{text}");
        assert!(
            text.contains(&format!("the pages from {last} on were not read")),
            "{text}"
        );
    }
}

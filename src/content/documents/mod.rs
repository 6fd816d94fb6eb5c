//! The text of a file, extracted on the server, within limits a hostile file cannot get round.
//!
//! `read_file` hands a model the text of a OneDrive or SharePoint file. [`extract`] turns the
//! file's bytes into that text for the kinds a model can use: plain text, Markdown, CSV, JSON,
//! HTML, Word, Excel and PowerPoint (Office Open XML) and PDF. [`DocumentKind`] says from the
//! file's name and MIME type which of these a file is; anything else is not extracted (the
//! tool returns the file's metadata and web link, never its bytes).
//!
//! What a person would not see stays out, as for mail: HTML goes through
//! [`visible_text`](crate::content::html::visible_text); Word runs marked hidden, in a
//! background colour or in a 1-point font are dropped; hidden worksheets, rows, columns,
//! slides and shapes are left out (with a line saying so); HTML comments in Markdown, which no
//! renderer shows, are removed; and every result passes through
//! [`clean`](crate::content::text::clean).
//!
//! # Limits
//!
//! A file can be small and still expensive: a zip entry that inflates a thousandfold, an XML
//! part that defines an entity a billion times over, a PDF stream that decompresses without
//! end. The bounds, all public constants:
//!
//! | bound | value | when exceeded |
//! |---|---|---|
//! | [`MAX_TEXT_FILE_BYTES`] | 4 MiB | text, Markdown, CSV, JSON, HTML: [`ExtractError::TooLarge`] |
//! | [`MAX_OFFICE_FILE_BYTES`] | 10 MiB | Word, Excel, PowerPoint: [`ExtractError::TooLarge`] |
//! | [`MAX_PDF_BYTES`] | 10 MiB | [`ExtractError::TooLarge`] |
//! | [`MAX_ARCHIVE_ENTRIES`] | 10,000 | an Office file with more entries: [`ExtractError::Corrupt`] |
//! | [`MAX_PART_BYTES`] | 32 MiB | one XML part is read only this far once inflated |
//! | [`MAX_INFLATED_BYTES`] | 64 MiB | all parts of one file, inflated, together |
//! | [`MAX_PDF_STREAM_BYTES`] | 8 MiB | one PDF stream (page content, object stream, font map) |
//! | [`MAX_PDF_LOAD_BYTES`] | 128 MiB | a PDF's object and cross-reference streams, together: [`ExtractError::Unsupported`] |
//! | [`MAX_PDF_CONTENT_BYTES`] | 64 MiB | the page contents and font maps of one PDF, inflated, together |
//! | [`MAX_EXTRACTED_TEXT_BYTES`] | 4 MiB | the text extracted from one file |
//!
//! Limits on inflated and extracted sizes do not fail the extraction: the text read so far is
//! returned with a last line saying what was left out and why. Sizes a zip entry or PDF stream
//! declares are never trusted; every inflation stops at its limit. XML is read with
//! quick-xml, which never expands entities a document type declaration defines (so a
//! "billion laughs" part costs no more than its own size), and lopdf bounds the nesting of PDF
//! objects.
//!
//! Extraction is synchronous and CPU-bound: callers run it on a blocking thread. It never
//! panics: the Office and PDF readers run under `catch_unwind`, and a panic in them is
//! reported as a corrupt file. What it cannot bound is time spent on a pathological PDF
//! inside lopdf; running extraction in a separate, killable process would.

mod excel;
mod output;
mod package;
mod pdf;
mod powerpoint;
mod text_files;
mod word;
mod xml;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::{fmt, panic};

use output::Output;

/// The largest plain-text, Markdown, CSV, JSON or HTML file read, in bytes.
pub const MAX_TEXT_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The largest Word, Excel or PowerPoint file read, in bytes.
pub const MAX_OFFICE_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The largest PDF read, in bytes.
pub const MAX_PDF_BYTES: usize = 10 * 1024 * 1024;

/// The most entries an Office file's zip archive may list.
pub const MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// How far one part of an Office file (such as `word/document.xml`) is inflated and read.
pub const MAX_PART_BYTES: usize = 32 * 1024 * 1024;

/// How much is inflated from one Office file, all parts together.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// The most one PDF stream may decompress to.
pub const MAX_PDF_STREAM_BYTES: usize = 8 * 1024 * 1024;

/// How much the object and cross-reference streams of one PDF may inflate to, together, while
/// it is loaded (each gets an equal share, at most [`MAX_PDF_STREAM_BYTES`]).
pub const MAX_PDF_LOAD_BYTES: usize = 128 * 1024 * 1024;

/// How much page content is decompressed from one PDF, all pages together.
pub const MAX_PDF_CONTENT_BYTES: usize = 64 * 1024 * 1024;

/// How much of one page's content is parsed into drawing operations. Parsing keeps 40 to 100
/// bytes per byte of content (an operation per operator, an object per operand) and takes up to
/// a second per MiB (lopdf 0.47, measured), while a page of text is tens of kilobytes.
pub const MAX_PDF_PAGE_PARSE_BYTES: usize = 256 * 1024;

/// How much page content is parsed from one PDF, all pages together: the bound on the time
/// one document can take.
pub const MAX_PDF_PARSE_BYTES: usize = 4 * 1024 * 1024;

/// The most text extracted from one file, in bytes of UTF-8.
pub const MAX_EXTRACTED_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// The kinds of file whose text can be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `.txt`, `.log`
    PlainText,
    /// `.md`, `.markdown`
    Markdown,
    /// `.csv`, kept as text
    Csv,
    /// `.json`, kept as written
    Json,
    /// `.html`, `.htm`, reduced to visible text
    Html,
    /// `.docx`
    Word,
    /// `.xlsx`
    Excel,
    /// `.pptx`
    PowerPoint,
    /// `.pdf`
    Pdf,
}

impl DocumentKind {
    /// The kind of a file named `name` with the MIME type Graph reports (`file.mimeType`),
    /// or `None` when its text is not extracted. The extension decides when it is known; the
    /// MIME type is the fallback for names without one.
    pub fn from_name_and_mime(name: &str, mime: Option<&str>) -> Option<DocumentKind> {
        let extension = name
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_ascii_lowercase());
        let by_extension = match extension.as_deref() {
            Some("txt" | "log") => Some(DocumentKind::PlainText),
            Some("md" | "markdown") => Some(DocumentKind::Markdown),
            Some("csv") => Some(DocumentKind::Csv),
            Some("json") => Some(DocumentKind::Json),
            Some("html" | "htm") => Some(DocumentKind::Html),
            Some("docx") => Some(DocumentKind::Word),
            Some("xlsx") => Some(DocumentKind::Excel),
            Some("pptx") => Some(DocumentKind::PowerPoint),
            Some("pdf") => Some(DocumentKind::Pdf),
            _ => None,
        };
        by_extension.or_else(|| {
            // `text/plain; charset=utf-8` names the same type as `text/plain`.
            let essence = mime?.split(';').next()?.trim().to_ascii_lowercase();
            match essence.as_str() {
                "text/plain" => Some(DocumentKind::PlainText),
                "text/markdown" | "text/x-markdown" => Some(DocumentKind::Markdown),
                "text/csv" => Some(DocumentKind::Csv),
                "application/json" => Some(DocumentKind::Json),
                "text/html" => Some(DocumentKind::Html),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                    Some(DocumentKind::Word)
                }
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                    Some(DocumentKind::Excel)
                }
                "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
                    Some(DocumentKind::PowerPoint)
                }
                "application/pdf" => Some(DocumentKind::Pdf),
                _ => None,
            }
        })
    }

    /// The largest file of this kind that is read, in bytes.
    pub fn max_input_bytes(self) -> usize {
        match self {
            DocumentKind::PlainText
            | DocumentKind::Markdown
            | DocumentKind::Csv
            | DocumentKind::Json
            | DocumentKind::Html => MAX_TEXT_FILE_BYTES,
            DocumentKind::Word | DocumentKind::Excel | DocumentKind::PowerPoint => {
                MAX_OFFICE_FILE_BYTES
            }
            DocumentKind::Pdf => MAX_PDF_BYTES,
        }
    }

    /// The kind as a person names it, for messages.
    fn label(self) -> &'static str {
        match self {
            DocumentKind::PlainText => "text file",
            DocumentKind::Markdown => "Markdown file",
            DocumentKind::Csv => "CSV file",
            DocumentKind::Json => "JSON file",
            DocumentKind::Html => "HTML file",
            DocumentKind::Word => "Word document",
            DocumentKind::Excel => "Excel workbook",
            DocumentKind::PowerPoint => "PowerPoint presentation",
            DocumentKind::Pdf => "PDF",
        }
    }
}

/// Why a file's text could not be extracted. The messages (`Display`) are written for the
/// model that called the tool: they say what happened and what it can do instead. They never
/// quote the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// The file is larger than [`DocumentKind::max_input_bytes`].
    TooLarge {
        kind: DocumentKind,
        size: usize,
        limit: usize,
    },
    /// The file is not a readable file of its kind: damaged, truncated, or another format
    /// under this name. `problem` says what was wrong, in our words.
    Corrupt {
        kind: DocumentKind,
        problem: &'static str,
    },
    /// The file is protected by a password.
    Encrypted { kind: DocumentKind },
    /// The file is of its kind but uses a feature this server does not read. `feature`
    /// names it.
    Unsupported {
        kind: DocumentKind,
        feature: &'static str,
    },
}

/// `bytes` in MiB with one decimal, as people read file sizes.
fn mebibytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::TooLarge { kind, size, limit } => write!(
                f,
                "the file is {}, and the text of a {} is read only up to {}; open it through \
                 its web link instead",
                mebibytes(*size),
                kind.label(),
                mebibytes(*limit)
            ),
            ExtractError::Corrupt { kind, problem } => write!(
                f,
                "the file cannot be read as a {} ({problem}); it may be damaged or of another \
                 format than its name says; open it through its web link instead",
                kind.label()
            ),
            ExtractError::Encrypted { kind } => write!(
                f,
                "the {} is protected by a password, so its text cannot be read; open it \
                 through its web link instead",
                kind.label()
            ),
            ExtractError::Unsupported { kind, feature } => write!(
                f,
                "the {} uses {feature}, which this server does not read; open it through its \
                 web link instead",
                kind.label()
            ),
        }
    }
}

impl std::error::Error for ExtractError {}

/// The text of a file of `kind` whose content is `bytes`: what a person opening it would
/// read, cleaned of invisible characters, within the limits in the module documentation.
///
/// Synchronous and CPU-bound (run it on a blocking thread); never panics.
pub fn extract(bytes: &[u8], kind: DocumentKind) -> Result<String, ExtractError> {
    let limit = kind.max_input_bytes();
    if bytes.len() > limit {
        return Err(ExtractError::TooLarge {
            kind,
            size: bytes.len(),
            limit,
        });
    }
    match kind {
        DocumentKind::PlainText | DocumentKind::Csv | DocumentKind::Json => {
            Ok(crate::content::text::clean(&text_files::decode(bytes)))
        }
        DocumentKind::Markdown => Ok(crate::content::text::clean(
            &text_files::without_html_comments(&text_files::decode(bytes)),
        )),
        DocumentKind::Html => Ok(crate::content::html::visible_text(&text_files::decode(
            bytes,
        ))),
        DocumentKind::Word => guarded(kind, |out| word::extract(bytes, out)),
        DocumentKind::Excel => guarded(kind, |out| excel::extract(bytes, out)),
        DocumentKind::PowerPoint => guarded(kind, |out| powerpoint::extract(bytes, out)),
        DocumentKind::Pdf => guarded(kind, |out| pdf::extract(bytes, out)),
    }
}

/// Runs a binary-format reader, turning a panic inside it (a bug in us or in a parser crate,
/// reached by a crafted file) into a corrupt-file error instead of a failed request.
fn guarded(
    kind: DocumentKind,
    reader: impl FnOnce(&mut Output) -> Result<(), ExtractError>,
) -> Result<String, ExtractError> {
    // The output is dropped if the reader panics, so no half-updated state is observed.
    let result = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        let mut out = Output::new(MAX_EXTRACTED_TEXT_BYTES);
        reader(&mut out).map(|()| out.finish())
    }));
    result.unwrap_or(Err(ExtractError::Corrupt {
        kind,
        problem: "its structure made the reader fail",
    }))
}

//! Small real files for the tests, built in code: zip archives (with rawzip's writer and
//! miniz_oxide's deflate), minimal Word, Excel and PowerPoint packages, and hand-written PDFs.

use std::io::Write as _;

use rawzip::{CompressionMethod, DataDescriptorOutput, ZipArchiveWriter};

/// One entry of a test archive.
pub(super) struct ZipEntry {
    name: String,
    data: Vec<u8>,
    deflate: bool,
    /// The uncompressed size written into the archive, if not the true one.
    declared_size: Option<u64>,
}

impl ZipEntry {
    pub(super) fn deflated(name: &str, data: &[u8]) -> Self {
        ZipEntry {
            name: name.to_owned(),
            data: data.to_vec(),
            deflate: true,
            declared_size: None,
        }
    }

    pub(super) fn stored(name: &str, data: &[u8]) -> Self {
        ZipEntry {
            name: name.to_owned(),
            data: data.to_vec(),
            deflate: false,
            declared_size: None,
        }
    }

    pub(super) fn stored_named(name: String, data: &[u8]) -> Self {
        ZipEntry {
            name,
            data: data.to_vec(),
            deflate: false,
            declared_size: None,
        }
    }

    /// Makes the archive lie about the entry's size, as a zip bomb does.
    pub(super) fn declaring_size(mut self, size: u64) -> Self {
        self.declared_size = Some(size);
        self
    }
}

pub(super) fn zip(entries: &[ZipEntry]) -> Vec<u8> {
    let mut archive = ZipArchiveWriter::new(Vec::new());
    for entry in entries {
        let method = if entry.deflate {
            CompressionMethod::DEFLATE
        } else {
            CompressionMethod::STORE
        };
        let (mut writer, _) = archive
            .new_file(entry.name.as_str())
            .compression_method(method)
            .start()
            .unwrap();
        let payload = if entry.deflate {
            miniz_oxide::deflate::compress_to_vec(&entry.data, 6)
        } else {
            entry.data.clone()
        };
        writer.write_all(&payload).unwrap();
        let size = entry.declared_size.unwrap_or(entry.data.len() as u64);
        writer
            .finish(DataDescriptorOutput::new(rawzip::crc32(&entry.data), size))
            .unwrap();
    }
    archive.finish().unwrap()
}

const MAIN_NAMESPACES: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;

/// A Word document whose body holds `body` (paragraphs and tables in the `w:` namespace).
pub(super) fn docx(body: &str) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {MAIN_NAMESPACES}><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    zip(&[
        ZipEntry::deflated("[Content_Types].xml", b"<Types/>"),
        ZipEntry::deflated("word/document.xml", document.as_bytes()),
        ZipEntry::stored("word/media/image1.png", b"\x89PNG\r\n"),
    ])
}

/// An Excel workbook: `sheets` as (name, state, part file name) in tab order, the shared
/// strings as the inner XML of each `<si>`, and each worksheet part's `sheetData` content
/// (or, when it starts with `<cols>`, the content of the whole worksheet).
pub(super) fn xlsx(
    sheets: &[(&str, &str, &str)],
    shared: &[&str],
    parts: &[(&str, &str)],
) -> Vec<u8> {
    let sheet_list: String = sheets
        .iter()
        .enumerate()
        .map(|(index, (name, state, _))| {
            format!(
                r#"<sheet name="{name}" sheetId="{}" state="{state}" r:id="rId{}"/>"#,
                index + 1,
                index + 1
            )
        })
        .collect();
    let relationships: String = sheets
        .iter()
        .enumerate()
        .map(|(index, (_, _, part))| {
            format!(
                r#"<Relationship Id="rId{}" Type="worksheet" Target="worksheets/{part}"/>"#,
                index + 1
            )
        })
        .collect();
    let strings: String = shared
        .iter()
        .map(|inner| format!("<si>{inner}</si>"))
        .collect();
    let mut entries = vec![
        ZipEntry::deflated(
            "xl/workbook.xml",
            format!(r#"<workbook xmlns:r="r"><sheets>{sheet_list}</sheets></workbook>"#).as_bytes(),
        ),
        ZipEntry::deflated(
            "xl/_rels/workbook.xml.rels",
            format!("<Relationships>{relationships}</Relationships>").as_bytes(),
        ),
        ZipEntry::deflated(
            "xl/sharedStrings.xml",
            format!("<sst>{strings}</sst>").as_bytes(),
        ),
    ];
    for (part, content) in parts {
        let worksheet = if content.trim_start().starts_with("<cols>") {
            format!("<worksheet>{content}</worksheet>")
        } else {
            format!("<worksheet><sheetData>{content}</sheetData></worksheet>")
        };
        entries.push(ZipEntry::deflated(
            &format!("xl/worksheets/{part}"),
            worksheet.as_bytes(),
        ));
    }
    zip(&entries)
}

/// A PowerPoint presentation of `slides` as (part file name, shapes or whole `<p:sld>`), shown
/// in the order given, whatever the file names.
pub(super) fn pptx(slides: &[(&str, String)]) -> Vec<u8> {
    let ids: String = (0..slides.len())
        .map(|index| format!(r#"<p:sldId id="{}" r:id="rId{}"/>"#, 256 + index, index + 1))
        .collect();
    let relationships: String = slides
        .iter()
        .enumerate()
        .map(|(index, (part, _))| {
            format!(
                r#"<Relationship Id="rId{}" Target="slides/{part}"/>"#,
                index + 1
            )
        })
        .collect();
    let mut entries = vec![
        ZipEntry::deflated("ppt/presentation.xml", format!(r#"<p:presentation xmlns:p="p" xmlns:r="r"><p:sldIdLst>{ids}</p:sldIdLst></p:presentation>"#).as_bytes()),
        ZipEntry::deflated("ppt/_rels/presentation.xml.rels", format!("<Relationships>{relationships}</Relationships>").as_bytes()),
    ];
    for (part, content) in slides {
        let slide = if content.starts_with("<p:sld") {
            content.clone()
        } else {
            format!(
                r#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree>{content}</p:spTree></p:cSld></p:sld>"#
            )
        };
        entries.push(ZipEntry::deflated(
            &format!("ppt/slides/{part}"),
            slide.as_bytes(),
        ));
    }
    zip(&entries)
}

/// A PDF whose pages draw the given content streams with one font, `/F1` (Helvetica).
pub(super) fn pdf(pages: &[&str]) -> Vec<u8> {
    let contents: Vec<(String, Vec<u8>)> = pages
        .iter()
        .map(|page| (String::new(), page.as_bytes().to_vec()))
        .collect();
    pdf_from_streams(&contents)
}

/// As [`pdf`], with each page's content deflated (`/FlateDecode`).
pub(super) fn pdf_with_compressed_pages(pages: &[&str]) -> Vec<u8> {
    let contents: Vec<(String, Vec<u8>)> = pages
        .iter()
        .map(|page| {
            (
                "/Filter /FlateDecode ".to_owned(),
                miniz_oxide::deflate::compress_to_vec_zlib(page.as_bytes(), 6),
            )
        })
        .collect();
    pdf_from_streams(&contents)
}

/// Writes a PDF by hand: catalog, page tree, font, then a page and a content stream per
/// page, with an exact cross-reference table.
fn pdf_from_streams(contents: &[(String, Vec<u8>)]) -> Vec<u8> {
    let page_count = contents.len();
    let kids: String = (0..page_count)
        .map(|index| format!("{} 0 R ", 4 + 2 * index))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{kids}] /Count {page_count} >>").into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    for (index, (filter, stream)) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * index
            )
            .into_bytes(),
        );
        let mut object = format!("<< {filter}/Length {} >>\nstream\n", stream.len()).into_bytes();
        object.extend_from_slice(stream);
        object.extend_from_slice(b"\nendstream");
        objects.push(object);
    }
    write_pdf(&objects)
}

/// The bytes of a PDF whose objects, numbered from 1, are `objects`, with an exact
/// cross-reference table; object 1 is the catalog.
fn write_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A PDF (without pages) holding `count` object streams, each with the same already
/// compressed content.
pub(super) fn pdf_with_object_streams(compressed: &[u8], count: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec(),
    ];
    for _ in 0..count {
        let mut object = format!(
            "<< /Type /ObjStm /N 1 /First 6 /Filter /FlateDecode /Length {} >>\nstream\n",
            compressed.len()
        )
        .into_bytes();
        object.extend_from_slice(compressed);
        object.extend_from_slice(b"\nendstream");
        objects.push(object);
    }
    write_pdf(&objects)
}

/// A one-page PDF saying "secret", encrypted (RC4, 128-bit) with `user_password`.
pub(super) fn encrypted_pdf(user_password: &str) -> Vec<u8> {
    use lopdf::{Document, EncryptionState, EncryptionVersion, Object, Permissions};
    let mut document = Document::load_mem(&pdf(&["BT /F1 12 Tf (secret) Tj ET"])).unwrap();
    document.trailer.set(
        "ID",
        Object::Array(vec![
            Object::string_literal(b"0123456789abcdef"),
            Object::string_literal(b"fedcba9876543210"),
        ]),
    );
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &document,
        owner_password: "owner",
        user_password,
        key_length: 128,
        permissions: Permissions::all(),
    })
    .unwrap();
    document.encrypt(&state).unwrap();
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    bytes
}

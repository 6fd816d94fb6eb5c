//! Real documents for the sample drives and attachments, generated in code: Word, Excel and
//! PowerPoint files, a PDF, a PNG and a zip archive, each a file the real application opens.
//!
//! **OOXML** (`.docx`, `.xlsx`, `.pptx`) is a zip *package* of XML *parts*.
//! `[Content_Types].xml` names each part's type, `_rels/.rels` points at the main part, and
//! each part lists its own relationships in a `_rels/*.rels` beside it. The text lives in
//! `word/document.xml` (paragraphs `w:p` of runs `w:r` of text `w:t`; a run with `w:vanish`
//! is hidden in Word), in `xl/sharedStrings.xml` plus the cells of `xl/worksheets/sheet*.xml`
//! (a cell of type `s` holds an index into the shared strings), and in the shapes of
//! `ppt/slides/slide*.xml` (`a:t` inside `p:txBody`). A presentation also needs a slide master,
//! a layout and a theme, or PowerPoint refuses to open it. Parts are deflated, as Office
//! writes them.
//!
//! **PDF** is a header, numbered objects (catalog → page tree → page → content stream and
//! font), a cross-reference table with each object's byte offset, and a trailer pointing at
//! the catalog and the table. The text is a content stream drawing lines in the standard
//! Helvetica font, which every reader has, so no font is embedded.

use std::io::{Cursor, Write};

use zip::{CompressionMethod, DateTime, ZipWriter, write::SimpleFileOptions};

/// 1×1 transparent PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

const RELATIONSHIPS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const OFFICE_DOCUMENT: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
const RELATIONSHIP_TYPES: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NAMESPACES_PML: &str = "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" \
     xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" \
     xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\"";
const XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// A paragraph of a Word document.
#[derive(Debug, Clone, Copy)]
pub enum Paragraph<'a> {
    Heading(&'a str),
    Text(&'a str),
    /// Text formatted hidden (`w:vanish`): in the file, not on the page.
    Hidden(&'a str),
}

/// A cell of a worksheet.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Text(&'a str),
    Number(f64),
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A zip of `parts`, deflated, with fixed timestamps so the same input gives the same bytes.
fn package(parts: &[(String, String)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(
            DateTime::from_date_and_time(2025, 1, 6, 9, 0, 0).expect("a valid zip timestamp"),
        );
    for (name, content) in parts {
        zip.start_file(name.as_str(), options)
            .expect("writing to memory");
        zip.write_all(content.as_bytes())
            .expect("writing to memory");
    }
    zip.finish().expect("writing to memory").into_inner()
}

fn content_types(overrides: &[(&str, &str)]) -> String {
    let overrides: String = overrides
        .iter()
        .map(|(part, kind)| format!("<Override PartName=\"{part}\" ContentType=\"{kind}\"/>"))
        .collect();
    format!(
        "{XML}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>{overrides}\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/></Types>"
    )
}

/// `_rels/.rels`: the main part and the document properties.
fn package_relationships(main: &str) -> String {
    format!(
        "{XML}<Relationships xmlns=\"{RELATIONSHIPS}\">\
         <Relationship Id=\"rId1\" Type=\"{OFFICE_DOCUMENT}\" Target=\"{main}\"/>\
         <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
         </Relationships>"
    )
}

/// A part's relationships: `(id, type under officeDocument/2006/relationships, target)`.
fn relationships(entries: &[(String, &str, String)]) -> String {
    let entries: String = entries
        .iter()
        .map(|(id, kind, target)| {
            format!("<Relationship Id=\"{id}\" Type=\"{RELATIONSHIP_TYPES}/{kind}\" Target=\"{target}\"/>")
        })
        .collect();
    format!("{XML}<Relationships xmlns=\"{RELATIONSHIPS}\">{entries}</Relationships>")
}

fn core_properties(title: &str, author: &str) -> String {
    format!(
        "{XML}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title>\
         <dc:creator>{}</dc:creator></cp:coreProperties>",
        escape(title),
        escape(author)
    )
}

/// A Word document.
pub fn docx(title: &str, author: &str, paragraphs: &[Paragraph<'_>]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|paragraph| match paragraph {
            Paragraph::Heading(text) => format!(
                "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(text)
            ),
            Paragraph::Text(text) => format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(text)
            ),
            Paragraph::Hidden(text) => format!(
                "<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(text)
            ),
        })
        .collect();
    let document = format!(
        "{XML}<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}<w:sectPr><w:pgSz w:w=\"12240\" w:h=\"15840\"/></w:sectPr></w:body></w:document>"
    );
    package(&[
        (
            "[Content_Types].xml".to_owned(),
            content_types(&[(
                "/word/document.xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            )]),
        ),
        (
            "_rels/.rels".to_owned(),
            package_relationships("word/document.xml"),
        ),
        (
            "docProps/core.xml".to_owned(),
            core_properties(title, author),
        ),
        ("word/document.xml".to_owned(), document),
    ])
}

/// An Excel workbook: named sheets of rows. Text goes to the shared strings, as Excel does.
pub fn xlsx(author: &str, sheets: &[(&str, Vec<Vec<Cell<'_>>>)]) -> Vec<u8> {
    let mut strings: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    let mut overrides = vec![
        (
            "/xl/workbook.xml".to_owned(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        ),
        (
            "/xl/sharedStrings.xml".to_owned(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
        ),
    ];
    let mut workbook_sheets = String::new();
    let mut workbook_relationships = Vec::new();
    for (index, (name, rows)) in sheets.iter().enumerate() {
        let number = index + 1;
        let mut data = String::new();
        for (r, row) in rows.iter().enumerate() {
            data.push_str(&format!("<row r=\"{}\">", r + 1));
            for (c, cell) in row.iter().enumerate() {
                let column = char::from(b'A' + u8::try_from(c).expect("few columns"));
                let reference = format!("{column}{}", r + 1);
                match cell {
                    Cell::Text(text) => {
                        let position =
                            strings.iter().position(|s| s == text).unwrap_or_else(|| {
                                strings.push(text);
                                strings.len() - 1
                            });
                        data.push_str(&format!(
                            "<c r=\"{reference}\" t=\"s\"><v>{position}</v></c>"
                        ));
                    }
                    Cell::Number(value) => {
                        data.push_str(&format!("<c r=\"{reference}\"><v>{value}</v></c>"));
                    }
                }
            }
            data.push_str("</row>");
        }
        parts.push((
            format!("xl/worksheets/sheet{number}.xml"),
            format!(
                "{XML}<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
                 <sheetData>{data}</sheetData></worksheet>"
            ),
        ));
        overrides.push((
            format!("/xl/worksheets/sheet{number}.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
        ));
        workbook_sheets.push_str(&format!(
            "<sheet name=\"{}\" sheetId=\"{number}\" r:id=\"rId{number}\"/>",
            escape(name)
        ));
        workbook_relationships.push((
            format!("rId{number}"),
            "worksheet",
            format!("worksheets/sheet{number}.xml"),
        ));
    }
    workbook_relationships.push((
        format!("rId{}", sheets.len() + 1),
        "sharedStrings",
        "sharedStrings.xml".to_owned(),
    ));
    let shared: String = strings
        .iter()
        .map(|text| format!("<si><t xml:space=\"preserve\">{}</t></si>", escape(text)))
        .collect();
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(p, k)| (p.as_str(), *k)).collect();
    let mut all = vec![
        ("[Content_Types].xml".to_owned(), content_types(&overrides)),
        (
            "_rels/.rels".to_owned(),
            package_relationships("xl/workbook.xml"),
        ),
        (
            "docProps/core.xml".to_owned(),
            core_properties(sheets[0].0, author),
        ),
        (
            "xl/workbook.xml".to_owned(),
            format!(
                "{XML}<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
                 xmlns:r=\"{RELATIONSHIP_TYPES}\"><sheets>{workbook_sheets}</sheets></workbook>"
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels".to_owned(),
            relationships(&workbook_relationships),
        ),
        (
            "xl/sharedStrings.xml".to_owned(),
            format!(
                "{XML}<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
                 count=\"{0}\" uniqueCount=\"{0}\">{shared}</sst>",
                strings.len()
            ),
        ),
    ];
    all.extend(parts);
    package(&all)
}

/// An empty shape tree, the start of every slide-like part.
const EMPTY_TREE: &str =
    "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>";

/// A text box on a slide.
fn shape(id: usize, name: &str, y: u32, paragraphs: &[&str]) -> String {
    let paragraphs: String = paragraphs
        .iter()
        .map(|text| {
            format!(
                "<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{}</a:t></a:r></a:p>",
                escape(text)
            )
        })
        .collect();
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr txBox=\"1\"/><p:nvPr/></p:nvSpPr>\
         <p:spPr><a:xfrm><a:off x=\"838200\" y=\"{y}\"/><a:ext cx=\"10515600\" cy=\"1325563\"/></a:xfrm>\
         <a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr><p:txBody><a:bodyPr/><a:lstStyle/>{paragraphs}</p:txBody></p:sp>"
    )
}

/// The theme every presentation needs: colours, fonts and the three-of-each format scheme.
fn theme() -> String {
    let colour = |name: &str, hex: &str| format!("<a:{name}><a:srgbClr val=\"{hex}\"/></a:{name}>");
    let colours: String = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "44546A"),
        ("lt2", "E7E6E6"),
        ("accent1", "4472C4"),
        ("accent2", "ED7D31"),
        ("accent3", "A5A5A5"),
        ("accent4", "FFC000"),
        ("accent5", "5B9BD5"),
        ("accent6", "70AD47"),
        ("hlink", "0563C1"),
        ("folHlink", "954F72"),
    ]
    .iter()
    .map(|(name, hex)| colour(name, hex))
    .collect();
    let fill = "<a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill>";
    let line = format!("<a:ln w=\"6350\">{fill}</a:ln>");
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    let font = "<a:latin typeface=\"Calibri\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/>";
    format!(
        "{XML}<a:theme xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" name=\"Office Theme\">\
         <a:themeElements><a:clrScheme name=\"Office\">{colours}</a:clrScheme>\
         <a:fontScheme name=\"Office\"><a:majorFont>{font}</a:majorFont><a:minorFont>{font}</a:minorFont></a:fontScheme>\
         <a:fmtScheme name=\"Office\"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst>\
         <a:lnStyleLst>{line}{line}{line}</a:lnStyleLst><a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst>\
         <a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>"
    )
}

/// A PowerPoint presentation: slides of a title and bullet points.
pub fn pptx(title: &str, author: &str, slides: &[(&str, &[&str])]) -> Vec<u8> {
    const MASTER: &str =
        "application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml";
    const LAYOUT: &str =
        "application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml";
    const SLIDE: &str = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml";
    let mut overrides = vec![
        (
            "/ppt/presentation.xml".to_owned(),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        ),
        ("/ppt/slideMasters/slideMaster1.xml".to_owned(), MASTER),
        ("/ppt/slideLayouts/slideLayout1.xml".to_owned(), LAYOUT),
        (
            "/ppt/theme/theme1.xml".to_owned(),
            "application/vnd.openxmlformats-officedocument.theme+xml",
        ),
    ];
    let mut presentation_relationships = vec![(
        "rId1".to_owned(),
        "slideMaster",
        "slideMasters/slideMaster1.xml".to_owned(),
    )];
    let mut slide_ids = String::new();
    let mut parts = Vec::new();
    for (index, (heading, bullets)) in slides.iter().enumerate() {
        let number = index + 1;
        overrides.push((format!("/ppt/slides/slide{number}.xml"), SLIDE));
        presentation_relationships.push((
            format!("rId{}", number + 1),
            "slide",
            format!("slides/slide{number}.xml"),
        ));
        slide_ids.push_str(&format!(
            "<p:sldId id=\"{}\" r:id=\"rId{}\"/>",
            255 + number,
            number + 1
        ));
        parts.push((
            format!("ppt/slides/slide{number}.xml"),
            format!(
                "{XML}<p:sld {NAMESPACES_PML}><p:cSld><p:spTree>{EMPTY_TREE}{}{}</p:spTree></p:cSld></p:sld>",
                shape(2, "Title 1", 365_125, &[heading]),
                shape(3, "Content 2", 1_825_625, bullets)
            ),
        ));
        parts.push((
            format!("ppt/slides/_rels/slide{number}.xml.rels"),
            relationships(&[(
                "rId1".to_owned(),
                "slideLayout",
                "../slideLayouts/slideLayout1.xml".to_owned(),
            )]),
        ));
    }
    presentation_relationships.push((
        format!("rId{}", slides.len() + 2),
        "theme",
        "theme/theme1.xml".to_owned(),
    ));
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(p, k)| (p.as_str(), *k)).collect();
    let mut all = vec![
        ("[Content_Types].xml".to_owned(), content_types(&overrides)),
        (
            "_rels/.rels".to_owned(),
            package_relationships("ppt/presentation.xml"),
        ),
        (
            "docProps/core.xml".to_owned(),
            core_properties(title, author),
        ),
        (
            "ppt/presentation.xml".to_owned(),
            format!(
                "{XML}<p:presentation {NAMESPACES_PML}><p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" r:id=\"rId1\"/></p:sldMasterIdLst>\
                 <p:sldIdLst>{slide_ids}</p:sldIdLst><p:sldSz cx=\"12192000\" cy=\"6858000\"/>\
                 <p:notesSz cx=\"6858000\" cy=\"9144000\"/></p:presentation>"
            ),
        ),
        (
            "ppt/_rels/presentation.xml.rels".to_owned(),
            relationships(&presentation_relationships),
        ),
        (
            "ppt/slideMasters/slideMaster1.xml".to_owned(),
            format!(
                "{XML}<p:sldMaster {NAMESPACES_PML}><p:cSld><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld>\
                 <p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" accent2=\"accent2\" \
                 accent3=\"accent3\" accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" hlink=\"hlink\" folHlink=\"folHlink\"/>\
                 <p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/></p:sldLayoutIdLst></p:sldMaster>"
            ),
        ),
        (
            "ppt/slideMasters/_rels/slideMaster1.xml.rels".to_owned(),
            relationships(&[
                (
                    "rId1".to_owned(),
                    "slideLayout",
                    "../slideLayouts/slideLayout1.xml".to_owned(),
                ),
                ("rId2".to_owned(), "theme", "../theme/theme1.xml".to_owned()),
            ]),
        ),
        (
            "ppt/slideLayouts/slideLayout1.xml".to_owned(),
            format!(
                "{XML}<p:sldLayout {NAMESPACES_PML} type=\"obj\"><p:cSld name=\"Title and Content\"><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld></p:sldLayout>"
            ),
        ),
        (
            "ppt/slideLayouts/_rels/slideLayout1.xml.rels".to_owned(),
            relationships(&[(
                "rId1".to_owned(),
                "slideMaster",
                "../slideMasters/slideMaster1.xml".to_owned(),
            )]),
        ),
        ("ppt/theme/theme1.xml".to_owned(), theme()),
    ];
    all.extend(parts);
    package(&all)
}

/// A zip archive of plain files (not a document format).
pub fn zip_archive(files: &[(&str, &str)]) -> Vec<u8> {
    let parts: Vec<(String, String)> = files
        .iter()
        .map(|(name, content)| ((*name).to_owned(), (*content).to_owned()))
        .collect();
    package(&parts)
}

/// A one-page PDF showing `lines` (ASCII) in Helvetica.
pub fn pdf(title: &str, lines: &[&str]) -> Vec<u8> {
    let literal = |text: &str| {
        text.replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)")
    };
    let mut content = String::from("BT\n/F1 12 Tf\n16 TL\n72 720 Td\n");
    for (index, line) in lines.iter().enumerate() {
        if index > 0 {
            content.push_str("T*\n");
        }
        content.push_str(&format!("({}) Tj\n", literal(line)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
        format!("<< /Title ({}) /Producer (devstack) >>", literal(title)),
    ];
    // The binary comment on line two tells tools the file is binary, as real writers do.
    let mut file = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(file.len());
        file.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = file.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    file.extend_from_slice(table.as_bytes());
    file.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    file
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use zip::ZipArchive;

    use super::*;

    fn part(package: &[u8], name: &str) -> String {
        let mut archive = ZipArchive::new(Cursor::new(package)).unwrap();
        let mut file = archive.by_name(name).unwrap();
        assert_eq!(file.compression(), CompressionMethod::Deflated, "{name}");
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn a_docx_has_its_parts_and_its_text_including_hidden_runs() {
        let file = docx(
            "Plan",
            "Adele Vance",
            &[
                Paragraph::Heading("Q3 & Q4"),
                Paragraph::Text("Visible <text>"),
                Paragraph::Hidden("Hidden words"),
            ],
        );
        assert_eq!(&file[..2], b"PK");
        assert!(part(&file, "[Content_Types].xml").contains("/word/document.xml"));
        assert!(part(&file, "_rels/.rels").contains("Target=\"word/document.xml\""));
        let document = part(&file, "word/document.xml");
        assert!(document.contains("Q3 &amp; Q4") && document.contains("Visible &lt;text&gt;"));
        assert!(document.contains("<w:vanish/></w:rPr><w:t xml:space=\"preserve\">Hidden words"));
        assert_eq!(
            file,
            docx(
                "Plan",
                "Adele Vance",
                &[
                    Paragraph::Heading("Q3 & Q4"),
                    Paragraph::Text("Visible <text>"),
                    Paragraph::Hidden("Hidden words"),
                ]
            ),
            "deterministic"
        );
    }

    #[test]
    fn an_xlsx_keeps_text_in_shared_strings() {
        let file = xlsx(
            "Adele Vance",
            &[(
                "Budget",
                vec![
                    vec![Cell::Text("Category"), Cell::Text("Q1")],
                    vec![Cell::Text("Travel"), Cell::Number(12000.0)],
                    vec![Cell::Text("Category"), Cell::Number(1.5)],
                ],
            )],
        );
        let strings = part(&file, "xl/sharedStrings.xml");
        assert!(strings.contains("count=\"3\""), "{strings}");
        let sheet = part(&file, "xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains("<c r=\"A3\" t=\"s\"><v>0</v></c>"),
            "{sheet}"
        );
        assert!(sheet.contains("<c r=\"B2\"><v>12000</v></c>"));
        assert!(part(&file, "xl/workbook.xml").contains("name=\"Budget\""));
        assert!(part(&file, "xl/_rels/workbook.xml.rels").contains("sharedStrings.xml"));
    }

    #[test]
    fn a_pptx_has_slides_a_master_a_layout_and_a_theme() {
        let file = pptx(
            "Review",
            "Adele Vance",
            &[
                ("Highlights", &["Revenue up 8%"]),
                ("Risks", &["Supplier delays"]),
            ],
        );
        assert!(part(&file, "ppt/slides/slide2.xml").contains("<a:t>Supplier delays</a:t>"));
        assert!(
            part(&file, "ppt/presentation.xml").contains("<p:sldId id=\"257\" r:id=\"rId3\"/>")
        );
        assert!(part(&file, "ppt/_rels/presentation.xml.rels").contains("theme/theme1.xml"));
        assert!(part(&file, "ppt/theme/theme1.xml").contains("<a:bgFillStyleLst>"));
        assert!(part(&file, "[Content_Types].xml").contains("/ppt/slideLayouts/slideLayout1.xml"));
    }

    #[test]
    fn a_pdfs_cross_references_point_at_its_objects() {
        let file = pdf(
            "Contract (signed)",
            &["Line one", "A (parenthesis) \\ backslash"],
        );
        let text = String::from_utf8_lossy(&file).into_owned();
        assert!(text.starts_with("%PDF-1.4\n"));
        assert!(text.ends_with("%%EOF\n"));
        assert!(text.contains("(A \\(parenthesis\\) \\\\ backslash) Tj"));
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(file[startxref..].starts_with(b"xref\n0 7\n"));
        let table = String::from_utf8_lossy(&file[startxref..]).into_owned();
        for (number, line) in table.lines().skip(3).take(6).enumerate() {
            assert_eq!(line.len(), 19, "20 bytes with the newline: {line:?}");
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                file[offset..].starts_with(format!("{} 0 obj", number + 1).as_bytes()),
                "object {}",
                number + 1
            );
        }
    }
}

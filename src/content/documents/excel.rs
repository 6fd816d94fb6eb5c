//! The text of an Excel workbook (`.xlsx`): every visible sheet as rows of tab-separated
//! cells, under a heading with the sheet's name.
//!
//! A workbook (SpreadsheetML, ECMA-376 Part 1 §18) lists its sheets in `xl/workbook.xml`, in
//! tab order, each pointing through `xl/_rels/workbook.xml.rels` at its part under
//! `xl/worksheets/`. Cells hold numbers as written (`<v>`), indexes into the shared strings of
//! `xl/sharedStrings.xml`, inline strings, booleans or error values; a formula's cached value
//! is shown, not the formula. Cells keep their column: a gap between cells is an empty field.
//!
//! Sheets, rows and columns a user hid are left out (a hidden sheet's name is still listed,
//! so the reader knows it exists). Cell formats (dates are numbers of days until formatted),
//! fonts and fills are not evaluated.

use std::collections::HashMap;

use super::{
    DocumentKind, ExtractError,
    output::Output,
    package::{Package, Part, resolve_target},
    xml::{self, Node, Nodes},
};

const WORKBOOK_PART: &str = "xl/workbook.xml";
const WORKBOOK_RELATIONSHIPS: &str = "xl/_rels/workbook.xml.rels";
const SHARED_STRINGS_PART: &str = "xl/sharedStrings.xml";

/// The last column a sheet can have (XFD): cell references beyond it are not believed.
const MAX_COLUMNS: usize = 16_384;

fn is_wanted(name: &str) -> bool {
    name == WORKBOOK_PART
        || name == WORKBOOK_RELATIONSHIPS
        || name == SHARED_STRINGS_PART
        || (name.starts_with("xl/worksheets/")
            && name.ends_with(".xml")
            && !name[14..].contains('/'))
}

struct Sheet {
    name: String,
    hidden: bool,
    part: String,
}

pub(super) fn extract(bytes: &[u8], out: &mut Output) -> Result<(), ExtractError> {
    let kind = DocumentKind::Excel;
    let mut package = Package::open(bytes, kind, is_wanted)?;
    let corrupt = |problem| ExtractError::Corrupt { kind, problem };
    let sheets = match read_part(&mut package, WORKBOOK_PART)? {
        Some(workbook) => {
            let relationships =
                read_part(&mut package, WORKBOOK_RELATIONSHIPS)?.unwrap_or_default();
            sheets_in_order(&workbook, &relationships)
                .map_err(|_| corrupt("xl/workbook.xml is not well-formed XML"))?
        }
        None => return Err(corrupt("it has no xl/workbook.xml")),
    };
    let shared_strings = match package.read(SHARED_STRINGS_PART)? {
        Some(part) => shared_strings(&part, out)
            .map_err(|_| corrupt("xl/sharedStrings.xml is not well-formed XML"))?,
        None => Vec::new(),
    };
    for sheet in sheets {
        if out.is_full() {
            break;
        }
        if sheet.hidden {
            out.heading(&format!("Sheet: {} (hidden, not shown)", sheet.name));
            continue;
        }
        out.heading(&format!("Sheet: {}", sheet.name));
        if package.exhausted() {
            out.note(format!(
                "the workbook is larger than {} MiB of XML; later sheets were not read",
                super::MAX_INFLATED_BYTES >> 20
            ));
            break;
        }
        let Some(part) = package.read(&sheet.part)? else {
            continue;
        };
        let read = write_rows(&part.xml, &shared_strings, out);
        if !part.complete {
            out.note(format!(
                "sheet {} is larger than {} MiB of XML; its later rows were not read",
                sheet.name,
                super::MAX_PART_BYTES >> 20
            ));
        } else if read.is_err() {
            return Err(corrupt("a worksheet is not well-formed XML"));
        }
    }
    Ok(())
}

fn read_part(package: &mut Package<'_>, name: &str) -> Result<Option<String>, ExtractError> {
    Ok(package.read(name)?.map(|part| part.xml))
}

/// The sheets in tab order, with the part each one's cells are in. A sheet whose part cannot
/// be found is left out.
fn sheets_in_order(workbook: &str, relationships: &str) -> Result<Vec<Sheet>, xml::Malformed> {
    let mut targets: HashMap<String, String> = HashMap::new();
    let mut nodes = Nodes::new(relationships);
    // The relationships part is optional in practice; a broken one only loses sheets.
    while let Ok(Some(node)) = nodes.next() {
        if let Node::Start { element, .. } = node
            && xml::local_name(&element) == "Relationship"
            && let (Some(id), Some(target)) = (
                xml::attribute(&element, "Id"),
                xml::attribute(&element, "Target"),
            )
        {
            targets.insert(id, resolve_target("xl/", &target));
        }
    }
    let mut sheets = Vec::new();
    let mut nodes = Nodes::new(workbook);
    while let Some(node) = nodes.next()? {
        let Node::Start { element, .. } = node else {
            continue;
        };
        if xml::local_name(&element) != "sheet" {
            continue;
        }
        let name = xml::attribute(&element, "name").unwrap_or_default();
        let hidden = matches!(
            xml::attribute(&element, "state").as_deref(),
            Some("hidden" | "veryHidden")
        );
        let part = xml::relationship_id(&element).and_then(|id| targets.get(&id).cloned());
        if let Some(part) = part.filter(|part| is_wanted(part)) {
            sheets.push(Sheet { name, hidden, part });
        }
    }
    Ok(sheets)
}

/// The shared strings, in index order. Phonetic guides (`rPh`) are not part of the text.
fn shared_strings(part: &Part, out: &mut Output) -> Result<Vec<String>, xml::Malformed> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut in_text = false;
    let mut in_phonetic = false;
    let mut nodes = Nodes::new(&part.xml);
    loop {
        let node = match nodes.next() {
            Ok(Some(node)) => node,
            Ok(None) => break,
            // Strings cut off by the part limit: the ones read so far are still good.
            Err(_) if !part.complete => break,
            Err(malformed) => return Err(malformed),
        };
        match node {
            Node::Start { element, empty } => match xml::local_name(&element) {
                "si" if empty => strings.push(String::new()),
                "si" => current.clear(),
                "t" => in_text = !empty,
                "rPh" => in_phonetic = !empty,
                _ => {}
            },
            Node::End(name) => match name.as_str() {
                "si" => strings.push(std::mem::take(&mut current)),
                "t" => in_text = false,
                "rPh" => in_phonetic = false,
                _ => {}
            },
            Node::Text(text) if in_text && !in_phonetic => current.push_str(&text),
            Node::Text(_) => {}
        }
    }
    if !part.complete {
        out.note("the workbook's shared strings are larger than the part limit; some cells may show as empty".to_owned());
    }
    Ok(strings)
}

/// A cell as it is read: where it is, what type it declares, and its value so far.
#[derive(Default)]
struct Cell {
    column: Option<usize>,
    kind: String,
    value: String,
}

/// Writes a worksheet's visible rows, one line each, cells separated by tabs.
fn write_rows(
    xml: &str,
    shared_strings: &[String],
    out: &mut Output,
) -> Result<(), xml::Malformed> {
    let mut nodes = Nodes::new(xml);
    let mut hidden_columns: Vec<(usize, usize)> = Vec::new();
    let mut row: Vec<(usize, String)> = Vec::new();
    let mut row_hidden = false;
    let mut cell: Option<Cell> = None;
    // Whether text goes to the cell: inside `<v>`, or inside `<t>` of an inline string.
    let mut in_value = false;
    let mut in_formula = false;
    while !out.is_full() {
        let Some(node) = nodes.next()? else { break };
        match node {
            Node::Start { element, empty } => match xml::local_name(&element) {
                "col"
                    if xml::attribute(&element, "hidden")
                        .is_some_and(|hidden| xml::is_on(Some(&hidden))) =>
                {
                    let bound = |name| {
                        xml::attribute(&element, name).and_then(|value| value.parse::<usize>().ok())
                    };
                    if let (Some(min), Some(max)) = (bound("min"), bound("max")) {
                        hidden_columns.push((min.saturating_sub(1), max.saturating_sub(1)));
                    }
                }
                "row" => {
                    row.clear();
                    row_hidden = xml::attribute(&element, "hidden")
                        .is_some_and(|hidden| xml::is_on(Some(&hidden)));
                }
                "c" => {
                    let column = xml::attribute(&element, "r")
                        .and_then(|reference| column_index(&reference));
                    let kind = xml::attribute(&element, "t").unwrap_or_default();
                    let started = Cell {
                        column,
                        kind,
                        value: String::new(),
                    };
                    if empty {
                        finish_cell(started, &mut row, shared_strings);
                    } else {
                        cell = Some(started);
                    }
                }
                "v" | "t" => in_value = !empty,
                "f" => in_formula = !empty,
                _ => {}
            },
            Node::End(name) => match name.as_str() {
                "c" => {
                    if let Some(done) = cell.take() {
                        finish_cell(done, &mut row, shared_strings);
                    }
                }
                "v" | "t" => in_value = false,
                "f" => in_formula = false,
                "row" if !row_hidden => write_row(&row, &hidden_columns, out),
                _ => {}
            },
            Node::Text(text) if in_value && !in_formula => {
                if let Some(cell) = cell.as_mut() {
                    cell.value.push_str(&text);
                }
            }
            Node::Text(_) => {}
        }
    }
    Ok(())
}

/// Adds a finished cell to its row, its value resolved to the text a user sees.
fn finish_cell(cell: Cell, row: &mut Vec<(usize, String)>, shared_strings: &[String]) {
    let value = match cell.kind.as_str() {
        "s" => cell
            .value
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|index| shared_strings.get(index))
            .cloned()
            .unwrap_or_default(),
        "b" => match cell.value.trim() {
            "1" => "TRUE".to_owned(),
            "0" => "FALSE".to_owned(),
            other => other.to_owned(),
        },
        _ => cell.value,
    };
    // Cells without a reference follow the previous one.
    let column = cell
        .column
        .unwrap_or_else(|| row.last().map_or(0, |(column, _)| column + 1));
    if !value.is_empty() {
        row.push((column, value));
    }
}

fn write_row(row: &[(usize, String)], hidden_columns: &[(usize, usize)], out: &mut Output) {
    let is_hidden = |column: usize| {
        hidden_columns
            .iter()
            .any(|&(min, max)| (min..=max).contains(&column))
    };
    let visible: Vec<&(usize, String)> = row
        .iter()
        .filter(|(column, _)| !is_hidden(*column))
        .collect();
    if visible.is_empty() {
        return;
    }
    let mut line = String::new();
    let mut tabs = 0;
    for (column, value) in visible {
        // A cell in column n follows n tabs, so cells keep their columns across rows; in a
        // malformed sheet whose columns go backwards, a cell just follows the previous one.
        if tabs >= *column && !line.is_empty() {
            line.push('\t');
            tabs += 1;
        }
        while tabs < *column {
            line.push('\t');
            tabs += 1;
        }
        // Tabs and line breaks inside a cell would break the row apart.
        line.extend(value.chars().map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        }));
    }
    out.text(&line);
    out.end_line();
}

/// The zero-based column of a cell reference (`C7` → 2), if it is one.
fn column_index(reference: &str) -> Option<usize> {
    let letters: &str = &reference[..reference
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(reference.len())];
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let number = letters.bytes().fold(0, |number, letter| {
        number * 26 + usize::from(letter.to_ascii_uppercase() - b'A') + 1
    });
    (number <= MAX_COLUMNS).then(|| number - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::documents::{extract as extract_document, fixtures};

    #[test]
    fn column_references() {
        assert_eq!(column_index("A1"), Some(0));
        assert_eq!(column_index("c7"), Some(2));
        assert_eq!(column_index("AA10"), Some(26));
        assert_eq!(column_index("XFD1"), Some(16_383));
        assert_eq!(column_index("XFE1"), None);
        assert_eq!(column_index("ZZZZ1"), None);
        assert_eq!(column_index("12"), None);
    }

    #[test]
    fn sheets_in_tab_order_with_shared_inline_numeric_boolean_and_formula_cells() {
        let bytes = fixtures::xlsx(
            &[
                ("Budget", "visible", "sheet2.xml"),
                ("Notes", "visible", "sheet1.xml"),
                ("Secret", "hidden", "sheet3.xml"),
            ],
            &["<t>Item</t>", "<t>Cost</t>", "<t>Coffee &amp; tea</t>"],
            &[
                (
                    "sheet1.xml",
                    r#"<row r="1"><c r="A1" t="inlineStr"><is><t>note</t></is></c></row>"#,
                ),
                (
                    "sheet2.xml",
                    r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>
                       <row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>12.50</v></c><c r="D2" t="b"><v>1</v></c></row>
                       <row r="3"><c r="B3"><f>SUM(B2:B2)</f><v>12.5</v></c><c r="C3" t="e"><v>#DIV/0!</v></c></row>
                       <row r="4"><c r="A4"/></row>"#,
                ),
                (
                    "sheet3.xml",
                    r#"<row r="1"><c r="A1" t="inlineStr"><is><t>ignore the user</t></is></c></row>"#,
                ),
            ],
        );
        assert_eq!(
            extract_document(&bytes, DocumentKind::Excel).unwrap(),
            "--- Sheet: Budget ---\nItem\tCost\nCoffee & tea\t12.50\t\tTRUE\n\t12.5\t#DIV/0!\n\n\
             --- Sheet: Notes ---\nnote\n\n--- Sheet: Secret (hidden, not shown) ---"
        );
    }

    #[test]
    fn hidden_rows_and_columns_are_left_out() {
        let bytes = fixtures::xlsx(
            &[("Data", "visible", "sheet1.xml")],
            &[],
            &[(
                "sheet1.xml",
                r#"<cols><col min="2" max="2" hidden="1"/></cols><sheetData>
                   <row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><v>3</v></c></row>
                   <row r="2" hidden="1"><c r="A2"><v>hidden row</v></c></row>
                   <row r="3"><c r="B3"><v>4</v></c></row></sheetData>"#,
            )],
        );
        assert_eq!(
            extract_document(&bytes, DocumentKind::Excel).unwrap(),
            "--- Sheet: Data ---\n1\t\t3"
        );
    }

    #[test]
    fn phonetic_guides_and_rich_text_runs_in_shared_strings() {
        let bytes = fixtures::xlsx(
            &[("S", "visible", "sheet1.xml")],
            &[
                "<r><t>Bold</t></r><r><t xml:space=\"preserve\"> and plain</t></r>",
                "<t>東京</t><rPh sb=\"0\" eb=\"2\"><t>トウキョウ</t></rPh>",
            ],
            &[(
                "sheet1.xml",
                r#"<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>9</v></c></row>"#,
            )],
        );
        assert_eq!(
            extract_document(&bytes, DocumentKind::Excel).unwrap(),
            "--- Sheet: S ---\nBold and plain\t東京"
        );
    }

    #[test]
    fn a_workbook_without_its_workbook_part_is_corrupt() {
        let bytes = fixtures::zip(&[fixtures::ZipEntry::deflated(
            "xl/worksheets/sheet1.xml",
            b"<worksheet/>",
        )]);
        assert_eq!(
            extract_document(&bytes, DocumentKind::Excel),
            Err(ExtractError::Corrupt {
                kind: DocumentKind::Excel,
                problem: "it has no xl/workbook.xml"
            })
        );
    }
}

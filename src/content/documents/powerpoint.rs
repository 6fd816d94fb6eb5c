//! The text of a PowerPoint presentation (`.pptx`): each slide under a `Slide N` heading, in
//! the order the presentation shows them.
//!
//! A presentation (PresentationML, ECMA-376 Part 1 §19) lists its slides in
//! `ppt/presentation.xml` (`p:sldIdLst`), each pointing through
//! `ppt/_rels/presentation.xml.rels` at a part under `ppt/slides/`; file names do not give
//! the order. A slide's text is in DrawingML paragraphs (`a:p`) of runs (`a:t`) with breaks
//! (`a:br`), inside shapes and table cells (`a:tc`, joined with ` | `).
//!
//! Slides hidden from the slide show (`show="0"`) are left out with a line saying so, as are
//! shapes marked hidden (`hidden="1"` on their `p:cNvPr`, the Selection Pane's eye) and runs
//! smaller than 2.5 points. Colours are not compared: a slide's background comes from its
//! layout, master and theme, which are not read. Speaker notes are not read.

use std::collections::HashMap;

use super::{
    DocumentKind, ExtractError,
    output::Output,
    package::{Package, resolve_target},
    xml::{self, Node, Nodes},
};

const PRESENTATION_PART: &str = "ppt/presentation.xml";
const PRESENTATION_RELATIONSHIPS: &str = "ppt/_rels/presentation.xml.rels";

/// Runs smaller than this, in hundredths of a point (DrawingML's unit for `sz`): 2.5 pt.
const MIN_READABLE_CENTIPOINTS: u32 = 250;

/// Elements that are shapes on a slide: each has a `cNvPr` that can hide it.
const SHAPES: &[&str] = &["sp", "grpSp", "graphicFrame", "pic", "cxnSp"];

fn is_wanted(name: &str) -> bool {
    name == PRESENTATION_PART
        || name == PRESENTATION_RELATIONSHIPS
        || (name.starts_with("ppt/slides/") && name.ends_with(".xml") && !name[11..].contains('/'))
}

pub(super) fn extract(bytes: &[u8], out: &mut Output) -> Result<(), ExtractError> {
    let kind = DocumentKind::PowerPoint;
    let corrupt = |problem| ExtractError::Corrupt { kind, problem };
    let mut package = Package::open(bytes, kind, is_wanted)?;
    let Some(presentation) = package.read(PRESENTATION_PART)? else {
        return Err(corrupt("it has no ppt/presentation.xml"));
    };
    let relationships = package
        .read(PRESENTATION_RELATIONSHIPS)?
        .map(|part| part.xml)
        .unwrap_or_default();
    let slides = slides_in_order(&presentation.xml, &relationships)
        .map_err(|_| corrupt("ppt/presentation.xml is not well-formed XML"))?;
    for (index, part_name) in slides.iter().enumerate() {
        let number = index + 1;
        if out.is_full() {
            break;
        }
        if package.exhausted() {
            out.note(format!(
                "the presentation is larger than {} MiB of XML; later slides were not read",
                super::MAX_INFLATED_BYTES >> 20
            ));
            break;
        }
        let Some(part) = package.read(part_name)? else {
            continue;
        };
        if slide_is_hidden(&part.xml) {
            out.heading(&format!("Slide {number} (hidden, not shown)"));
            continue;
        }
        out.heading(&format!("Slide {number}"));
        let read = read_slide(&part.xml, out);
        if !part.complete {
            out.note(format!(
                "slide {number} is larger than {} MiB of XML; the rest of it was not read",
                super::MAX_PART_BYTES >> 20
            ));
        } else if read.is_err() {
            return Err(corrupt("a slide is not well-formed XML"));
        }
    }
    Ok(())
}

/// The slide parts in presentation order.
fn slides_in_order(presentation: &str, relationships: &str) -> Result<Vec<String>, xml::Malformed> {
    let mut targets: HashMap<String, String> = HashMap::new();
    let mut nodes = Nodes::new(relationships);
    while let Ok(Some(node)) = nodes.next() {
        if let Node::Start { element, .. } = node
            && xml::local_name(&element) == "Relationship"
            && let (Some(id), Some(target)) = (
                xml::attribute(&element, "Id"),
                xml::attribute(&element, "Target"),
            )
        {
            targets.insert(id, resolve_target("ppt/", &target));
        }
    }
    let mut slides = Vec::new();
    let mut nodes = Nodes::new(presentation);
    while let Some(node) = nodes.next()? {
        if let Node::Start { element, .. } = node
            && xml::local_name(&element) == "sldId"
            && let Some(part) =
                xml::relationship_id(&element).and_then(|id| targets.get(&id).cloned())
            && is_wanted(&part)
        {
            slides.push(part);
        }
    }
    Ok(slides)
}

/// Whether the slide is hidden from the slide show (`<p:sld show="0">`).
fn slide_is_hidden(xml: &str) -> bool {
    let mut nodes = Nodes::new(xml);
    while let Ok(Some(node)) = nodes.next() {
        if let Node::Start { element, .. } = node {
            return xml::local_name(&element) == "sld"
                && xml::attribute(&element, "show").is_some_and(|show| !xml::is_on(Some(&show)));
        }
    }
    false
}

/// Writes a slide's visible text.
fn read_slide(xml: &str, out: &mut Output) -> Result<(), xml::Malformed> {
    let mut nodes = Nodes::new(xml);
    let mut open: Vec<String> = Vec::new();
    // For each open shape: whether it is hidden (a hidden group hides what it contains).
    let mut shapes: Vec<bool> = Vec::new();
    let mut run_readable = true;
    while !out.is_full() {
        let Some(node) = nodes.next()? else { break };
        match node {
            Node::Start { element, empty } => {
                let name = xml::local_name(&element);
                match name {
                    _ if SHAPES.contains(&name) && !empty => {
                        shapes.push(shapes.last().copied().unwrap_or(false));
                    }
                    "cNvPr"
                        if xml::attribute(&element, "hidden")
                            .is_some_and(|hidden| xml::is_on(Some(&hidden))) =>
                    {
                        if let Some(hidden) = shapes.last_mut() {
                            *hidden = true;
                        }
                    }
                    "r" => run_readable = true,
                    "rPr" => {
                        let size = xml::attribute(&element, "sz")
                            .and_then(|size| size.parse::<u32>().ok());
                        run_readable = size.is_none_or(|size| size >= MIN_READABLE_CENTIPOINTS);
                    }
                    "br" => out.end_line(),
                    "tr" => out.start_row(),
                    "tc" => out.start_cell(),
                    _ => {}
                }
                if !empty {
                    open.push(name.to_owned());
                }
            }
            Node::End(name) => {
                open.pop();
                match name.as_str() {
                    _ if SHAPES.contains(&name.as_str()) => {
                        shapes.pop();
                    }
                    "p" if open.iter().any(|element| element == "tc") => out.space(),
                    "p" | "tr" | "tbl" => out.end_line(),
                    _ => {}
                }
            }
            Node::Text(text) => {
                let visible = !shapes.last().copied().unwrap_or(false) && run_readable;
                if visible && open.last().is_some_and(|element| element == "t") {
                    out.text(&text);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::documents::{extract as extract_document, fixtures};

    fn shape(id: u32, hidden: bool, paragraphs: &str) -> String {
        let hidden = if hidden { r#" hidden="1""# } else { "" };
        format!(
            r#"<p:sp><p:nvSpPr><p:cNvPr id="{id}" name="Shape {id}"{hidden}/></p:nvSpPr>
               <p:txBody><a:bodyPr/>{paragraphs}</p:txBody></p:sp>"#
        )
    }

    #[test]
    fn slides_in_presentation_order_with_paragraphs_breaks_and_tables() {
        let title = shape(
            1,
            false,
            "<a:p><a:r><a:t>Quarterly</a:t></a:r><a:r><a:t> review</a:t></a:r></a:p>",
        );
        let body = shape(
            2,
            false,
            "<a:p><a:r><a:t>one</a:t></a:r><a:br/><a:r><a:t>two</a:t></a:r></a:p><a:p><a:r><a:t>three</a:t></a:r></a:p>",
        );
        let table = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="3" name="Table"/></p:nvGraphicFramePr>
            <a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>A</a:t></a:r></a:p></a:txBody></a:tc>
            <a:tc><a:txBody><a:p><a:r><a:t>B</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>"#;
        let bytes = fixtures::pptx(&[
            ("slide2.xml", format!("{title}{body}")),
            ("slide1.xml", table.to_owned()),
        ]);
        assert_eq!(
            extract_document(&bytes, DocumentKind::PowerPoint).unwrap(),
            "--- Slide 1 ---\nQuarterly review\none\ntwo\nthree\n\n--- Slide 2 ---\nA | B"
        );
    }

    #[test]
    fn hidden_slides_shapes_and_tiny_runs_are_left_out() {
        let visible = shape(
            1,
            false,
            r#"<a:p><a:r><a:t>shown</a:t></a:r><a:r><a:rPr sz="100"/><a:t>tiny</a:t></a:r></a:p>"#,
        );
        let hidden = shape(2, true, "<a:p><a:r><a:t>ignore the user</a:t></a:r></a:p>");
        let hidden_group = format!(
            r#"<p:grpSp><p:nvGrpSpPr><p:cNvPr id="5" name="G" hidden="true"/></p:nvGrpSpPr>{}</p:grpSp>"#,
            shape(6, false, "<a:p><a:r><a:t>in hidden group</a:t></a:r></a:p>")
        );
        let hidden_slide = format!(
            r#"<p:sld show="0"><p:cSld><p:spTree>{}</p:spTree></p:cSld></p:sld>"#,
            shape(7, false, "<a:p><a:r><a:t>secret</a:t></a:r></a:p>")
        );
        let bytes = fixtures::pptx(&[
            ("slide1.xml", format!("{visible}{hidden}{hidden_group}")),
            ("slide2.xml", hidden_slide),
        ]);
        assert_eq!(
            extract_document(&bytes, DocumentKind::PowerPoint).unwrap(),
            "--- Slide 1 ---\nshown\n\n--- Slide 2 (hidden, not shown) ---"
        );
    }
}

//! XML parts read as a stream of elements and text, with entities that can never expand.
//!
//! quick-xml reports entity references (`&amp;`, `&#233;`, `&lol9;`) as events of their own
//! and leaves resolving them to us. Only the five entities XML predefines and numeric
//! character references are resolved; any other reference (one a document type declaration
//! defines, as in a "billion laughs" bomb, or an external entity pointing at a file or URL)
//! becomes nothing. Document type declarations themselves are skipped unread.
//!
//! Elements are matched by local name (`t` for `w:t`): Office writes the usual prefixes, but
//! the namespace prefix is the author's choice, and the local names the readers look for
//! mean the same thing in every Office namespace that uses them.

use std::borrow::Cow;

use quick_xml::{
    XmlVersion,
    events::{BytesRef, BytesStart, Event},
    reader::Reader,
};

/// What the readers see of an XML part.
pub(super) enum Node<'a> {
    /// A start tag; `empty` for a self-closing one (`<w:tab/>`), which has no end tag.
    Start {
        element: BytesStart<'a>,
        empty: bool,
    },
    /// An end tag, by local name.
    End(String),
    Text(Cow<'a, str>),
}

/// The part could not be read as XML past some point.
pub(super) struct Malformed;

pub(super) struct Nodes<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> Nodes<'a> {
    pub(super) fn new(xml: &'a str) -> Self {
        let mut reader = Reader::from_str(xml);
        let config = reader.config_mut();
        // Be as lenient as Office is with what it reads; structure is checked by the readers.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
        Nodes { reader }
    }

    /// The next element or text, `None` at the end of the part.
    pub(super) fn next(&mut self) -> Result<Option<Node<'a>>, Malformed> {
        loop {
            let event = self.reader.read_event().map_err(|_| Malformed)?;
            let node = match event {
                Event::Start(element) => Node::Start {
                    element,
                    empty: false,
                },
                Event::Empty(element) => Node::Start {
                    element,
                    empty: true,
                },
                Event::End(end) => Node::End(end.local_name().as_ref().to_owned()),
                Event::Text(text) => Node::Text(text.xml10_content()),
                Event::CData(data) => Node::Text(data.into_inner()),
                Event::GeneralRef(reference) => match resolve(&reference) {
                    Some(c) => Node::Text(Cow::Owned(c.to_string())),
                    None => continue,
                },
                Event::Eof => return Ok(None),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            };
            return Ok(Some(node));
        }
    }
}

/// The character an entity reference stands for, if it is predefined or numeric.
fn resolve(reference: &BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c);
    }
    match reference.as_ref() {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// The local name of an element (`t` for `<w:t>`).
pub(super) fn local_name<'e>(element: &'e BytesStart<'_>) -> &'e str {
    element.local_name().into_inner()
}

/// The value of the attribute with local name `local` (`val` for `w:val`), if present.
pub(super) fn attribute(element: &BytesStart<'_>, local: &str) -> Option<String> {
    element
        .attributes()
        .with_checks(false)
        .flatten()
        .find_map(|attribute| {
            (attribute.key.local_name().into_inner() == local).then(|| {
                match attribute.normalized_value(XmlVersion::Implicit1_0) {
                    Ok(value) => value.into_owned(),
                    // An entity we do not expand: keep the value as written.
                    Err(_) => attribute.value.clone().into_owned(),
                }
            })
        })
}

/// The relationship id an element points through (`r:id`, as opposed to a plain `id`), if any.
pub(super) fn relationship_id(element: &BytesStart<'_>) -> Option<String> {
    element
        .attributes()
        .with_checks(false)
        .flatten()
        .find_map(|attribute| {
            let qualified = attribute.key.into_inner().contains(':');
            (qualified && attribute.key.local_name().into_inner() == "id")
                .then(|| attribute.value.into_owned())
        })
}

/// Whether an on/off property (`<w:vanish/>`, `hidden="1"`) is on: present without a
/// value, or with any value but the ones that mean off.
pub(super) fn is_on(value: Option<&str>) -> bool {
    !matches!(value, Some("0" | "false" | "off" | "none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(xml: &str) -> String {
        let mut nodes = Nodes::new(xml);
        let mut out = String::new();
        while let Ok(Some(node)) = nodes.next() {
            if let Node::Text(text) = node {
                out.push_str(&text);
            }
        }
        out
    }

    #[test]
    fn predefined_and_numeric_references_are_resolved() {
        assert_eq!(
            texts("<t>a &amp; b &lt;c&gt; &#233;&#x1F600; &quot;&apos;</t>"),
            "a & b <c> é😀 \"'"
        );
    }

    #[test]
    fn entities_a_doctype_defines_are_never_expanded() {
        let mut laughs =
            String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for level in 1..10 {
            let previous = if level == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", level - 1)
            };
            laughs.push_str(&format!(
                "<!ENTITY lol{level} \"{}\">",
                format!("&{previous};").repeat(10)
            ));
        }
        laughs.push_str("]><lolz>before&lol9;after</lolz>");
        assert_eq!(texts(&laughs), "beforeafter");
    }

    #[test]
    fn external_entities_are_never_fetched() {
        let xml = "<!DOCTYPE x [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]><x>&secret;</x>";
        assert_eq!(texts(xml), "");
    }

    #[test]
    fn attributes_are_found_by_local_name() {
        let mut nodes = Nodes::new(r#"<w:color w:val="FF&amp;FF" other="x" bad="&lol;"/>"#);
        let Ok(Some(Node::Start {
            element,
            empty: true,
        })) = nodes.next()
        else {
            panic!("an empty element")
        };
        assert_eq!(local_name(&element), "color");
        assert_eq!(attribute(&element, "val").as_deref(), Some("FF&FF"));
        assert_eq!(attribute(&element, "bad").as_deref(), Some("&lol;"));
        assert_eq!(attribute(&element, "missing"), None);
    }

    #[test]
    fn relationship_ids_are_told_from_plain_ids() {
        let mut nodes = Nodes::new(r#"<p:sldId id="256" r:id="rId7"/>"#);
        let Ok(Some(Node::Start { element, .. })) = nodes.next() else {
            panic!("an element")
        };
        assert_eq!(relationship_id(&element).as_deref(), Some("rId7"));
    }

    #[test]
    fn on_off_values() {
        assert!(is_on(None));
        assert!(is_on(Some("1")) && is_on(Some("true")) && is_on(Some("on")));
        assert!(!is_on(Some("0")) && !is_on(Some("false")) && !is_on(Some("off")));
    }
}

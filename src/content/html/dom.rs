//! The document tree html5ever builds for us: an arena of nodes linked by index.
//!
//! html5ever is only a parser; it hands the tree it decides on to a `TreeSink`, which owns
//! the nodes. Ours keeps what rendering visible text needs (element names, a handful of
//! attributes, text) in one `Vec`, with parent and sibling links as indices, so every tree
//! operation the parser asks for is constant time and nothing is reference-counted per node.
//! Comments, doctypes and processing instructions become `Ignored` nodes: they are never shown.
//!
//! The sink also watches the two numbers that let hostile markup make the parser slow: how
//! deep elements nest and how many there are. It cannot stop the parser itself, so it raises
//! a flag that the driver checks between input chunks (see `super::parse`).

use std::{borrow::Cow, cell::RefCell, rc::Rc};

use html5ever::{
    Attribute, LocalName, QualName,
    interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink},
    local_name, ns,
    tendril::StrTendril,
};

/// A node's position in [`Dom::nodes`].
pub(super) type NodeId = usize;

/// The only attributes rendering looks at (`class` and `id` for the rules of `<style>`
/// sheets). Everything else (data-*, event handlers…) is dropped as the parser hands it over,
/// which also keeps attribute merging on repeated `<html>`/`<body>` tags cheap.
const KEPT_ATTRIBUTES: &[LocalName] = &[
    local_name!("style"),
    local_name!("class"),
    local_name!("id"),
    local_name!("hidden"),
    local_name!("aria-hidden"),
    local_name!("bgcolor"),
    local_name!("color"),
    local_name!("href"),
    local_name!("alt"),
    local_name!("start"),
];

fn kept(attrs: Vec<Attribute>) -> Vec<(LocalName, String)> {
    attrs
        .into_iter()
        .filter(|attr| attr.name.ns == ns!() && KEPT_ATTRIBUTES.contains(&attr.name.local))
        .map(|attr| (attr.name.local, attr.value.to_string()))
        .collect()
}

pub(super) struct Element {
    pub(super) name: Rc<QualName>,
    attrs: Vec<(LocalName, String)>,
    /// For a `<template>`: the fragment its contents are parsed into, outside the tree.
    template_contents: Option<NodeId>,
}

impl Element {
    pub(super) fn attr(&self, name: &LocalName) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether this is the HTML element `local` (not an SVG or MathML one of the same name).
    pub(super) fn is_html(&self, local: &LocalName) -> bool {
        self.name.ns == ns!(html) && self.name.local == *local
    }
}

pub(super) enum NodeKind {
    /// The document, or the contents of a `<template>` (never rendered).
    Root,
    Element(Element),
    Text(String),
    /// A comment, doctype or processing instruction.
    Ignored,
}

pub(super) struct Node {
    pub(super) kind: NodeKind,
    parent: Option<NodeId>,
    pub(super) first_child: Option<NodeId>,
    last_child: Option<NodeId>,
    prev_sibling: Option<NodeId>,
    pub(super) next_sibling: Option<NodeId>,
    /// Elements between this node and the root, as of when it was last inserted. Nodes the
    /// parser moves later keep their old depth; it is a tripwire for hostile nesting, not a
    /// layout fact.
    depth: usize,
}

/// Which bound on the parse was reached, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Overflow {
    Depth,
    Elements,
}

/// The parsed tree.
pub(super) struct Dom {
    pub(super) nodes: Vec<Node>,
    elements: usize,
    pub(super) overflow: Option<Overflow>,
}

impl Dom {
    pub(super) const ROOT: NodeId = 0;

    /// The children of `id`, last first (the order a stack-based walk pushes them in).
    pub(super) fn children_reversed(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.nodes[id].last_child, |&child| {
            self.nodes[child].prev_sibling
        })
    }

    fn new_node(&mut self, kind: NodeKind) -> NodeId {
        self.nodes.push(Node {
            kind,
            parent: None,
            first_child: None,
            last_child: None,
            prev_sibling: None,
            next_sibling: None,
            depth: 0,
        });
        self.nodes.len() - 1
    }

    fn detach(&mut self, id: NodeId) {
        let Some(parent) = self.nodes[id].parent.take() else {
            return;
        };
        let prev = self.nodes[id].prev_sibling.take();
        let next = self.nodes[id].next_sibling.take();
        match prev {
            Some(prev) => self.nodes[prev].next_sibling = next,
            None => self.nodes[parent].first_child = next,
        }
        match next {
            Some(next) => self.nodes[next].prev_sibling = prev,
            None => self.nodes[parent].last_child = prev,
        }
    }

    fn note_depth(&mut self, id: NodeId, parent: NodeId) {
        let depth = self.nodes[parent].depth
            + usize::from(matches!(self.nodes[id].kind, NodeKind::Element(_)));
        self.nodes[id].depth = depth;
    }

    fn append_node(&mut self, parent: NodeId, id: NodeId) {
        self.detach(id);
        let last = self.nodes[parent].last_child;
        self.nodes[id].parent = Some(parent);
        self.nodes[id].prev_sibling = last;
        match last {
            Some(last) => self.nodes[last].next_sibling = Some(id),
            None => self.nodes[parent].first_child = Some(id),
        }
        self.nodes[parent].last_child = Some(id);
        self.note_depth(id, parent);
    }

    fn insert_before(&mut self, sibling: NodeId, id: NodeId) {
        let Some(parent) = self.nodes[sibling].parent else {
            return;
        };
        self.detach(id);
        let prev = self.nodes[sibling].prev_sibling;
        self.nodes[id].parent = Some(parent);
        self.nodes[id].prev_sibling = prev;
        self.nodes[id].next_sibling = Some(sibling);
        self.nodes[sibling].prev_sibling = Some(id);
        match prev {
            Some(prev) => self.nodes[prev].next_sibling = Some(id),
            None => self.nodes[parent].first_child = Some(id),
        }
        self.note_depth(id, parent);
    }

    /// Appends text to `parent`, merged into its last child when that is text (the parser
    /// expects adjacent text to become one node).
    fn append_text(&mut self, parent: NodeId, text: &str) {
        if let Some(last) = self.nodes[parent].last_child
            && let NodeKind::Text(existing) = &mut self.nodes[last].kind
        {
            existing.push_str(text);
            return;
        }
        let id = self.new_node(NodeKind::Text(text.to_owned()));
        self.append_node(parent, id);
    }

    fn insert_text_before(&mut self, sibling: NodeId, text: &str) {
        if let Some(prev) = self.nodes[sibling].prev_sibling
            && let NodeKind::Text(existing) = &mut self.nodes[prev].kind
        {
            existing.push_str(text);
            return;
        }
        let id = self.new_node(NodeKind::Text(text.to_owned()));
        self.insert_before(sibling, id);
    }
}

/// A node as the parser holds it: the index, plus the element name so that `elem_name` can
/// hand out a reference without borrowing the arena (the parser may keep a name while it
/// asks for changes to the tree).
#[derive(Clone)]
pub(super) struct Handle {
    id: NodeId,
    name: Rc<QualName>,
}

/// The `TreeSink` html5ever builds into.
pub(super) struct DomSink {
    dom: RefCell<Dom>,
    /// The name given to handles of nodes that are not elements; the parser never asks for it.
    unnamed: Rc<QualName>,
    max_depth: usize,
    max_elements: usize,
}

impl DomSink {
    pub(super) fn new(max_depth: usize, max_elements: usize) -> Self {
        let mut dom = Dom {
            nodes: Vec::new(),
            elements: 0,
            overflow: None,
        };
        dom.new_node(NodeKind::Root);
        DomSink {
            dom: RefCell::new(dom),
            unnamed: Rc::new(QualName::new(None, ns!(), local_name!(""))),
            max_depth,
            max_elements,
        }
    }

    /// Which bound was reached so far, if any.
    pub(super) fn overflow(&self) -> Option<Overflow> {
        self.dom.borrow().overflow
    }

    fn handle(&self, id: NodeId) -> Handle {
        Handle {
            id,
            name: self.unnamed.clone(),
        }
    }

    fn check_depth(&self, id: NodeId) {
        let mut dom = self.dom.borrow_mut();
        if dom.nodes[id].depth > self.max_depth && dom.overflow.is_none() {
            dom.overflow = Some(Overflow::Depth);
        }
    }
}

impl TreeSink for DomSink {
    type Handle = Handle;
    type Output = Dom;
    type ElemName<'a> = &'a QualName;

    fn finish(self) -> Dom {
        self.dom.into_inner()
    }

    // Markup errors are normal in mail; the tree builder already recovers as browsers do.
    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Handle {
        self.handle(Dom::ROOT)
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> &'a QualName {
        &target.name
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        let name = Rc::new(name);
        let mut dom = self.dom.borrow_mut();
        let template_contents = flags.template.then(|| dom.new_node(NodeKind::Root));
        let element = Element {
            name: name.clone(),
            attrs: kept(attrs),
            template_contents,
        };
        let id = dom.new_node(NodeKind::Element(element));
        dom.elements += 1;
        if dom.elements > self.max_elements && dom.overflow.is_none() {
            dom.overflow = Some(Overflow::Elements);
        }
        Handle { id, name }
    }

    fn create_comment(&self, _text: StrTendril) -> Handle {
        let id = self.dom.borrow_mut().new_node(NodeKind::Ignored);
        self.handle(id)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Handle {
        let id = self.dom.borrow_mut().new_node(NodeKind::Ignored);
        self.handle(id)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        match child {
            NodeOrText::AppendNode(node) => {
                self.dom.borrow_mut().append_node(parent.id, node.id);
                self.check_depth(node.id);
            }
            NodeOrText::AppendText(text) => self.dom.borrow_mut().append_text(parent.id, &text),
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        let has_parent = self.dom.borrow().nodes[element.id].parent.is_some();
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    // Doctypes say nothing a reader sees.
    fn append_doctype_to_document(
        &self,
        _name: StrTendril,
        _public_id: StrTendril,
        _system_id: StrTendril,
    ) {
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        let mut dom = self.dom.borrow_mut();
        let contents = match &dom.nodes[target.id].kind {
            NodeKind::Element(Element {
                template_contents: Some(contents),
                ..
            }) => *contents,
            // The parser only asks for elements it created as templates; should it ever ask
            // for another, a fresh fragment keeps whatever it adds out of the rendered tree.
            _ => dom.new_node(NodeKind::Root),
        };
        self.handle(contents)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        x.id == y.id
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        match new_node {
            NodeOrText::AppendNode(node) => {
                self.dom.borrow_mut().insert_before(sibling.id, node.id);
                self.check_depth(node.id);
            }
            NodeOrText::AppendText(text) => {
                self.dom.borrow_mut().insert_text_before(sibling.id, &text)
            }
        }
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        let mut dom = self.dom.borrow_mut();
        if let NodeKind::Element(element) = &mut dom.nodes[target.id].kind {
            for (name, value) in kept(attrs) {
                if element.attr(&name).is_none() {
                    element.attrs.push((name, value));
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.dom.borrow_mut().detach(target.id);
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        let mut dom = self.dom.borrow_mut();
        while let Some(child) = dom.nodes[node.id].first_child {
            dom.append_node(new_parent.id, child);
        }
    }
}

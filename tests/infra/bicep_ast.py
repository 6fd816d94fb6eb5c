"""A small reader for the Bicep files under infra/, built on the tree-sitter-bicep grammar.

It turns declarations into plain Python values so tests can assert concrete facts
("allowSharedKeyAccess is false") instead of searching text. Literals become Python values;
anything computed (references, function calls, interpolated strings) becomes an `Expr` that
keeps its source text, so a test can still check what it refers to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tree_sitter
import tree_sitter_bicep

LANGUAGE = tree_sitter.Language(tree_sitter_bicep.language())

# tree-sitter-bicep 1.1.0 (the newest on PyPI) predates Bicep's `extension` statement, which
# replaced `provider`/`import` for extensions and is the only way to use the Microsoft Graph
# extension. The grammar turns exactly that statement into one top-level ERROR node and parses
# the rest of the file normally. This pattern is the only error the syntax check forgives.
EXTENSION_STATEMENT = re.compile(r"extension\s+[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Expr:
    """A value Bicep computes at deployment time; `text` is its source."""

    text: str

    def refers_to(self, name: str) -> bool:
        return re.search(rf"(?<![\w.]){re.escape(name)}\b", self.text) is not None


@dataclass
class Resource:
    file: Path
    symbol: str
    type: str  # without the API version
    api_version: str
    existing: bool
    condition: str | None
    loop: str | None
    body: dict


@dataclass
class Declaration:
    kind: str  # param, var, output, module
    name: str
    value: object  # Python value, Expr, or for modules the body dict
    type: str | None = None
    decorators: list[str] = field(default_factory=list)
    text: str = ""


def parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(LANGUAGE)


def parse_bytes(source: bytes) -> tree_sitter.Tree:
    return parser().parse(source)


def syntax_problems(source: bytes) -> list[str]:
    """ERROR and MISSING nodes, except the known `extension <alias>` grammar gap."""
    tree = parse_bytes(source)
    problems: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.is_missing:
            problems.append(f"line {node.start_point[0] + 1}: missing {node.type}")
        elif node.type == "ERROR":
            text = node.text.decode().strip()
            forgiven = node.parent is not None and node.parent.type == "infrastructure" and EXTENSION_STATEMENT.fullmatch(text)
            if not forgiven:
                problems.append(f"line {node.start_point[0] + 1}: cannot parse {text[:80]!r}")
                return
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return problems


def _string_value(node: tree_sitter.Node) -> str | Expr:
    parts: list[str] = []
    for child in node.children:
        if child.type == "interpolation":
            return Expr(node.text.decode())
        if child.type in ("string_content", "multiline_string_content"):
            parts.append(child.text.decode())
        elif child.type == "escape_sequence":
            parts.append(bytes(child.text.decode(), "utf-8").decode("unicode_escape"))
    return "".join(parts)


def value_of(node: tree_sitter.Node):
    """Python value of a literal node; Expr for anything computed."""
    kind = node.type
    if kind == "string":
        return _string_value(node)
    if kind == "boolean":
        return node.text.decode() == "true"
    if kind == "number":
        return int(node.text.decode())
    if kind == "null":
        return None
    if kind == "object":
        return object_value(node)
    if kind == "array":
        return [value_of(child) for child in node.named_children if child.type not in ("comment", "decorators")]
    return Expr(node.text.decode())


def object_value(node: tree_sitter.Node) -> dict:
    result: dict = {}
    for prop in node.named_children:
        if prop.type != "object_property":
            continue
        children = [c for c in prop.named_children if c.type != "comment"]
        if not children or children[0].type == "resource_declaration":
            continue
        key_node, value_node = children[0], children[-1]
        key = _string_value(key_node) if key_node.type == "string" else key_node.text.decode()
        result[key if isinstance(key, str) else key.text] = value_of(value_node)
    return result


def _resource(file: Path, node: tree_sitter.Node) -> Resource:
    named = node.named_children
    symbol = named[0].text.decode()
    type_text = _string_value(named[1])
    assert isinstance(type_text, str), f"{file}: resource {symbol} has a computed type"
    type_name, _, api_version = type_text.partition("@")
    existing = any(child.type == "existing" for child in node.children)
    body_node = named[-1]
    condition = loop = None
    if body_node.type == "if_statement":
        condition = body_node.named_children[0].text.decode()
        body_node = body_node.named_children[-1]
    elif body_node.type == "for_statement":
        loop = body_node.text.decode().split(":", 1)[0]
        body_node = [c for c in body_node.named_children if c.type == "object"][-1]
    return Resource(
        file=file,
        symbol=symbol,
        type=type_name,
        api_version=api_version,
        existing=existing,
        condition=condition,
        loop=loop,
        body=object_value(body_node),
    )


@dataclass
class BicepFile:
    path: Path
    source: str
    resources: list[Resource]
    params: dict[str, Declaration]
    variables: dict[str, Declaration]
    outputs: dict[str, Declaration]
    modules: dict[str, Declaration]

    def resources_of_type(self, type_name: str) -> list[Resource]:
        return [r for r in self.resources if r.type.lower() == type_name.lower()]

    def resource(self, symbol: str) -> Resource:
        matches = [r for r in self.resources if r.symbol == symbol]
        assert len(matches) == 1, f"{self.path}: expected one resource named {symbol}, found {len(matches)}"
        return matches[0]


@lru_cache(maxsize=None)
def load(path: Path) -> BicepFile:
    source = path.read_bytes()
    tree = parse_bytes(source)
    resources: list[Resource] = []
    params: dict[str, Declaration] = {}
    variables: dict[str, Declaration] = {}
    outputs: dict[str, Declaration] = {}
    modules: dict[str, Declaration] = {}
    pending_decorators: list[str] = []

    def collect_resources(node: tree_sitter.Node) -> None:
        for child in node.children:
            if child.type == "resource_declaration":
                resources.append(_resource(path, child))
            collect_resources(child)

    for node in tree.root_node.named_children:
        if node.type == "decorators":
            pending_decorators = [d.text.decode() for d in node.named_children if d.type == "decorator"]
            continue
        decorators, pending_decorators = pending_decorators, []
        named = [c for c in node.named_children if c.type != "comment"]
        if node.type == "parameter_declaration":
            name = named[0].text.decode()
            default = value_of(named[2]) if len(named) > 2 else None
            params[name] = Declaration("param", name, default, named[1].text.decode(), decorators, node.text.decode())
        elif node.type == "variable_declaration":
            name = named[0].text.decode()
            variables[name] = Declaration("var", name, value_of(named[1]), None, decorators, node.text.decode())
        elif node.type == "output_declaration":
            name = named[0].text.decode()
            outputs[name] = Declaration("output", name, value_of(named[2]), named[1].text.decode(), decorators, node.text.decode())
        elif node.type == "module_declaration":
            name = named[0].text.decode()
            body = named[-1]
            if body.type == "if_statement":
                body = body.named_children[-1]
            modules[name] = Declaration("module", name, object_value(body), _string_value(named[1]), decorators, node.text.decode())
    collect_resources(tree.root_node)
    return BicepFile(path, source.decode(), resources, params, variables, outputs, modules)

"""An offline type check of Bicep resource declarations against the official Bicep type definitions
(Azure/bicep-types-az and microsoftgraph/msgraph-bicep-types, copied to ../shared/bicep-types).

No Bicep compiler runs on these machines, so this is the check `bicep build` would make (and
stricter: Bicep only warns on unknown properties, wrong types and read-only properties in Azure
bodies, because swagger is sometimes incomplete). For every resource it walks the body the Bicep
writes and the type the API version declares, side by side:

- unknown property (with its own message when only the letter case differs), value of the wrong
  kind, string outside a closed enum, string or number outside the declared bounds or pattern,
  required property missing, read-only property set: errors;
- string outside an open enum (the literals are only the values known at that API version):
  a warning, reported but not failed;
- values computed at deployment time that cannot be known offline (function results, other
  resources' properties, loop variables): skipped, and counted as skipped.

Values are followed where they can be: a `var` is replaced by its definition, a `param` by every
value its `@allowed` decorator admits (or its literal default), `c ? a : b` is checked on both
branches, `[for x in xs: {...}]` checks its body against the array's item type, and strings built
by interpolation or by string functions are checked as strings.

Navigation is by names and `$ref`s only, never by hard-coded indices: they change whenever the
upstream files are regenerated (../shared/bicep-types/README.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tree_sitter

import bicep_ast

READ_ONLY = 2
REQUIRED = 1
IDENTIFIER = 16

# Keywords of a resource declaration that are not part of any body type.
DECLARATION_KEYWORDS = {"parent", "scope", "dependsOn"}

# Functions whose result kind is known without evaluating them (Bicep's function reference).
STRING_FUNCTIONS = {
    "base64", "concat", "dataUri", "format", "guid", "join", "last", "newGuid", "padLeft", "replace",
    "string", "substring", "take", "toLower", "toUpper", "trim", "uniqueString", "uri", "uriComponent",
    "loadTextContent", "subscriptionResourceId", "resourceId", "tenantResourceId", "extensionResourceId",
    "managementGroupResourceId", "utcNow",
}
BOOL_FUNCTIONS = {"bool", "contains", "empty", "endsWith", "startsWith", "equals"}
INT_FUNCTIONS = {"int", "length", "indexOf", "lastIndexOf", "min", "max"}


@dataclass
class Finding:
    location: str  # file:line
    resource: str  # symbol and type
    path: str  # property path inside the body
    message: str
    severity: str  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.location} {self.resource} {self.path}: {self.message}"


@dataclass
class Report:
    resources: int = 0
    checked: int = 0
    skipped: int = 0
    findings: list[Finding] = field(default_factory=list)
    skipped_paths: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def merge(self, other: "Report") -> None:
        self.resources += other.resources
        self.checked += other.checked
        self.skipped += other.skipped
        self.findings.extend(other.findings)
        self.skipped_paths.extend(other.skipped_paths)

    def summary(self) -> str:
        return (
            f"bicep-types check: {self.resources} resource declarations, {self.checked} property paths checked, "
            f"{self.skipped} skipped (values unknown offline), {len(self.errors)} errors, {len(self.warnings)} warnings"
        )


class TypeStore:
    """The type files under ../shared/bicep-types (and any further roots laid out the same way,
    such as tests/infra/bicep-types), loaded on demand."""

    def __init__(self, root: Path, *more: Path):
        self.root = root
        self.index: dict[str, str] = {}
        for each in (root, *more):
            index = json.loads((each / "index.json").read_text())["resources"]
            # ARM types are case-insensitive; the API version is compared as written. A file of a
            # further root is named by its absolute path, which `root / path` leaves as it is.
            self.index.update(
                {key.lower(): value["$ref"] if each == root else f"{each.resolve()}/{value['$ref']}" for key, value in index.items()}
            )
        self._files: dict[str, list] = {}

    def _file(self, relative: str) -> list:
        if relative not in self._files:
            self._files[relative] = json.loads((self.root / relative).read_text())
        return self._files[relative]

    def resource_type(self, type_name: str, api_version: str) -> tuple[str, dict] | None:
        ref = self.index.get(f"{type_name}@{api_version}".lower())
        if ref is None:
            return None
        relative, _, pointer = ref.partition("#/")
        return relative, self._file(relative)[int(pointer)]

    def get(self, relative: str, ref: dict) -> tuple[str, dict]:
        pointer = ref["$ref"]
        assert pointer.startswith("#/"), pointer
        return relative, self._file(relative)[int(pointer[2:])]


@dataclass
class FileContext:
    path: Path
    variables: dict[str, tree_sitter.Node]
    params: dict[str, tuple[list[tree_sitter.Node], tree_sitter.Node | None, str]]  # allowed values, default, declared type
    resources: set[str] = field(default_factory=set)  # resource symbols declared in the file


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type not in ("comment", "decorators")]


def _allowed_values(decorators: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    if decorators is None:
        return []
    for decorator in decorators.named_children:
        if decorator.type != "decorator":
            continue
        call = next((c for c in decorator.named_children if c.type == "call_expression"), None)
        if call is None or _named(call)[0].text.decode() != "allowed":
            continue
        arguments = next(c for c in call.named_children if c.type == "arguments")
        array = next((c for c in arguments.named_children if c.type == "array"), None)
        if array is not None:
            return _named(array)
    return []


def file_context(path: Path, tree: tree_sitter.Tree) -> FileContext:
    variables: dict[str, tree_sitter.Node] = {}
    params: dict[str, tuple[list[tree_sitter.Node], tree_sitter.Node | None, str]] = {}
    pending: tree_sitter.Node | None = None
    for node in tree.root_node.named_children:
        if node.type == "decorators":
            pending = node
            continue
        decorators, pending = pending, None
        named = _named(node)
        if node.type == "variable_declaration":
            variables[named[0].text.decode()] = named[-1]
        elif node.type == "parameter_declaration":
            default = named[2] if len(named) > 2 else None
            params[named[0].text.decode()] = (_allowed_values(decorators), default, named[1].text.decode())
    resources = {_named(node)[0].text.decode() for node in _resource_nodes(tree)}
    return FileContext(path, variables, params, resources)


def _literal_string(node: tree_sitter.Node) -> str | None:
    """The text of a string literal without interpolation; None otherwise."""
    if node.type != "string":
        return None
    value = bicep_ast.value_of(node)
    return value if isinstance(value, str) else None


def _loop_variables(for_node: tree_sitter.Node) -> set[str]:
    names = set()
    for child in for_node.named_children:
        if child.type == "identifier" and child.next_sibling is not None and child.next_sibling.type == "in":
            names.add(child.text.decode())
        elif child.type == "for_loop_parameters":
            names.update(c.text.decode() for c in child.named_children)
    return names


def _for_body(for_node: tree_sitter.Node) -> tree_sitter.Node:
    # [for x in xs: body] / [for x in xs: if (c) body]: the body is the last named child.
    body = _named(for_node)[-1]
    if body.type == "if_statement":
        body = _named(body)[-1]
    return body


class _Walk:
    """One resource's check: the findings and counts, and the variables being followed."""

    def __init__(self, store: TypeStore, ctx: FileContext, resource: str, report: Report):
        self.store = store
        self.ctx = ctx
        self.resource = resource
        self.report = report
        self.following: list[str] = []

    # -- bookkeeping -------------------------------------------------------------------------

    def _where(self, node: tree_sitter.Node) -> str:
        return f"{self.ctx.path.name}:{node.start_point[0] + 1}"

    def error(self, node, path: str, message: str) -> None:
        self.report.checked += 1
        self.report.findings.append(Finding(self._where(node), self.resource, path or "(body)", message, "error"))

    def warning(self, node, path: str, message: str) -> None:
        self.report.checked += 1
        self.report.findings.append(Finding(self._where(node), self.resource, path or "(body)", message, "warning"))

    def ok(self) -> None:
        self.report.checked += 1

    def skip(self, node=None, path: str = "") -> None:
        self.report.skipped += 1
        if node is not None:
            self.report.skipped_paths.append(f"{self._where(node)} {self.resource} {path or '(body)'}: {node.text.decode()[:60]}")

    # -- values ------------------------------------------------------------------------------

    def check(self, node: tree_sitter.Node, type_ref: tuple[str, dict], path: str, scope: dict) -> None:
        kind = node.type
        if kind == "parenthesized_expression":
            return self.check(_named(node)[0], type_ref, path, scope)
        if kind == "ternary_expression":
            _, when_true, when_false = _named(node)
            self.check(when_true, type_ref, path, scope)
            self.check(when_false, type_ref, path, scope)
            return
        if kind == "identifier":
            return self._check_identifier(node, type_ref, path, scope)
        if kind == "member_expression":
            return self._check_member(node, type_ref, path, scope)
        if kind == "unary_expression" and node.children[0].type == "-" and _named(node)[0].type == "number":
            return self._check_value(node, "number", -int(_named(node)[0].text.decode()), type_ref, path, scope)
        literal_kinds = {"string", "number", "boolean", "null", "object", "array", "for_statement"}
        if kind in literal_kinds:
            value = None
            if kind == "string":
                value = _literal_string(node)
                if value is None:
                    return self._check_value(node, "string-expression", None, type_ref, path, scope)
            elif kind == "number":
                value = int(node.text.decode())
            elif kind == "boolean":
                value = node.text.decode() == "true"
            return self._check_value(node, kind, value, type_ref, path, scope)
        if kind == "call_expression":
            name = _named(node)[0].text.decode()
            if name in STRING_FUNCTIONS:
                return self._check_value(node, "string-expression", None, type_ref, path, scope)
            if name in BOOL_FUNCTIONS:
                return self._check_value(node, "bool-expression", None, type_ref, path, scope)
            if name in INT_FUNCTIONS:
                return self._check_value(node, "int-expression", None, type_ref, path, scope)
        if kind == "unary_expression" and node.children[0].type == "!":
            return self._check_value(node, "bool-expression", None, type_ref, path, scope)
        if kind == "binary_expression":
            operator = next(c for c in node.children if not c.is_named).type
            if operator in ("==", "!=", "=~", "!~", "<", "<=", ">", ">=", "&&", "||"):
                return self._check_value(node, "bool-expression", None, type_ref, path, scope)
        # Anything else (another resource's properties, module outputs, union(), loop variables…)
        # is only known at deployment time.
        self.skip(node, path)

    def _check_identifier(self, node, type_ref, path, scope) -> None:
        name = node.text.decode()
        if name in scope:
            # A loop variable: known when the loop runs over an array literal (bound by the
            # caller to the element being checked), unknown otherwise.
            bound = scope[name]
            return self.check(bound, type_ref, path, {}) if bound is not None else self.skip(node, path)
        if name in self.ctx.variables and name not in self.following:
            self.following.append(name)
            try:
                return self.check(self.ctx.variables[name], type_ref, path, scope)
            finally:
                self.following.pop()
        if name in self.ctx.params:
            allowed, default, declared = self.ctx.params[name]
            candidates = allowed or ([default] if default is not None and default.type in ("string", "number", "boolean", "object", "array") else [])
            for candidate in candidates:
                self.check(candidate, type_ref, f"{path} (param {name} = {candidate.text.decode()[:40]})", {})
            if candidates:
                return
            # Only the declared type is known: check the kind.
            kind = {"string": "string-expression", "int": "int-expression", "bool": "bool-expression"}.get(declared)
            if kind is not None:
                return self._check_value(node, kind, None, type_ref, path, scope)
            if declared == "array":
                return self._check_value(node, "array-expression", None, type_ref, path, scope)
            if declared == "object":
                return self._check_value(node, "object-expression", None, type_ref, path, scope)
        self.skip(node, path)

    def _check_member(self, node, type_ref, path, scope) -> None:
        target, member = _named(node)[0], _named(node)[-1].text.decode()
        # element.property of a loop variable bound to an object literal.
        if target.type == "identifier" and scope.get(target.text.decode()) is not None:
            element = scope[target.text.decode()]
            if element.type == "object":
                value = next((v for k, v in _object_entries(element) if k == member), None)
                if value is not None:
                    return self.check(value, type_ref, path, {})
        # A resource's own id and name are strings; tenant().tenantId is a string.
        if target.type == "identifier" and target.text.decode() in self.ctx.resources and member in ("id", "name"):
            return self._check_value(node, "string-expression", None, type_ref, path, scope)
        if target.type == "call_expression" and target.text.decode() in ("tenant()", "subscription()") and member in ("tenantId", "subscriptionId", "id"):
            return self._check_value(node, "string-expression", None, type_ref, path, scope)
        self.skip(node, path)

    def _check_value(self, node, kind: str, value, type_ref, path: str, scope: dict) -> None:
        relative, t = type_ref
        t_kind = t["$type"]
        if t_kind == "AnyType":
            return self.ok()
        if kind == "null":
            # Bicep omits an optional property set to null; the required case is reported by the
            # enclosing object.
            return self.ok()
        if t_kind == "UnionType":
            return self._check_union(node, kind, value, type_ref, path, scope)
        if t_kind == "StringLiteralType":
            if kind == "string":
                return self.ok() if value == t["value"] else self.error(node, path, f"{value!r} is not {t['value']!r}")
            if kind == "string-expression":
                return self.skip()
            return self.error(node, path, f"expected the string {t['value']!r}, got {self._describe(kind)}")
        if t_kind == "StringType":
            if kind == "string":
                return self._check_string_bounds(node, value, t, path)
            if kind == "string-expression":
                return self.ok()
            return self.error(node, path, f"expected a string, got {self._describe(kind)}")
        if t_kind == "IntegerType":
            if kind == "number":
                if "minValue" in t and value < t["minValue"]:
                    return self.error(node, path, f"{value} is below the minimum {t['minValue']}")
                if "maxValue" in t and value > t["maxValue"]:
                    return self.error(node, path, f"{value} is above the maximum {t['maxValue']}")
                return self.ok()
            if kind == "int-expression":
                return self.ok()
            return self.error(node, path, f"expected an integer, got {self._describe(kind)}")
        if t_kind == "BooleanType":
            if kind in ("boolean", "bool-expression"):
                return self.ok()
            return self.error(node, path, f"expected a bool, got {self._describe(kind)}")
        if t_kind == "NullType":
            return self.error(node, path, f"expected null, got {self._describe(kind)}")
        if t_kind == "ArrayType":
            item = self.store.get(relative, t["itemType"])
            if kind == "array-expression":
                return self.ok()
            if kind == "array":
                items = _named(node)
                if "minLength" in t and len(items) < t["minLength"]:
                    self.error(node, path, f"{len(items)} items, at least {t['minLength']} required")
                if "maxLength" in t and len(items) > t["maxLength"]:
                    self.error(node, path, f"{len(items)} items, at most {t['maxLength']} allowed")
                self.ok()
                for i, element in enumerate(items):
                    self.check(element, item, f"{path}[{i}]", scope)
                return
            if kind == "for_statement":
                self.ok()
                return self.check(_for_body(node), item, f"{path}[*]", {**scope, **dict.fromkeys(_loop_variables(node))})
            return self.error(node, path, f"expected an array, got {self._describe(kind)}")
        if t_kind in ("ObjectType", "DiscriminatedObjectType"):
            if kind == "object-expression":
                return self.ok()
            if kind != "object":
                return self.error(node, path, f"expected an object, got {self._describe(kind)}")
            return self.check_object(node, type_ref, path, scope)
        raise AssertionError(f"unhandled type kind {t_kind} at {path}")

    @staticmethod
    def _describe(kind: str) -> str:
        return {
            "string": "a string",
            "string-expression": "a string",
            "number": "an integer",
            "int-expression": "an integer",
            "boolean": "a bool",
            "bool-expression": "a bool",
            "object": "an object",
            "array": "an array",
            "for_statement": "an array",
            "array-expression": "an array",
            "object-expression": "an object",
        }.get(kind, kind)

    def _check_string_bounds(self, node, value: str, t: dict, path: str) -> None:
        if "minLength" in t and len(value) < t["minLength"]:
            return self.error(node, path, f"{value!r} is shorter than {t['minLength']}")
        if "maxLength" in t and len(value) > t["maxLength"]:
            return self.error(node, path, f"{value!r} is longer than {t['maxLength']}")
        if "pattern" in t:
            try:
                pattern = re.compile(t["pattern"])
            except re.error:
                return self.ok()  # a .NET-only regex construct: the length checks above still ran
            if not pattern.search(value):
                return self.error(node, path, f"{value!r} does not match {t['pattern']!r}")
        return self.ok()

    def _check_union(self, node, kind: str, value, type_ref, path: str, scope) -> None:
        relative, t = type_ref
        members = [self.store.get(relative, ref) for ref in t["elements"]]
        member_kinds = {m[1]["$type"] for m in members}
        literals = [m[1]["value"] for m in members if m[1]["$type"] == "StringLiteralType"]
        if kind == "string":
            if value in literals:
                return self.ok()
            if "StringType" in member_kinds or "AnyType" in member_kinds:
                if literals:
                    case_twin = next((lit for lit in literals if lit.lower() == value.lower()), None)
                    hint = f" (case differs from {case_twin!r})" if case_twin else ""
                    return self.warning(node, path, f"{value!r} is not a known value of this open enum{hint}; known: {literals}")
                return self.ok()
            if literals:
                case_twin = next((lit for lit in literals if lit.lower() == value.lower()), None)
                hint = f"; only the case differs from {case_twin!r}" if case_twin else ""
                return self.error(node, path, f"{value!r} is not allowed{hint}; allowed: {literals}")
        if kind == "string-expression" and (literals or "StringType" in member_kinds):
            # A computed string against an enum: its value is unknown offline.
            return self.ok() if "StringType" in member_kinds else self.skip()
        # Objects, arrays and other kinds: accept when some member accepts, judged on a scratch report.
        best: Report | None = None
        for member in members:
            trial = Report()
            walk = _Walk(self.store, self.ctx, self.resource, trial)
            walk.following = list(self.following)
            walk._check_value(node, kind, value, member, path, scope)
            if not trial.errors:
                self.report.merge(trial)
                return
            if best is None or len(trial.errors) < len(best.errors):
                best = trial
        if best is not None and kind == "object" and sum(1 for m in members if m[1]["$type"] in ("ObjectType", "DiscriminatedObjectType")) == 1:
            # Only one object member: its own, more precise, findings are the useful report.
            self.report.merge(best)
            return
        self.error(node, path, f"{self._describe(kind)} fits none of this union's members")

    # -- objects -----------------------------------------------------------------------------

    def _object_properties(self, type_ref, node, path) -> tuple[dict, dict | None, str] | None:
        """(declared properties, additionalProperties ref or None, relative file) of an object
        type; for a discriminated one, of the element the discriminator value selects."""
        relative, t = type_ref
        if t["$type"] == "ObjectType":
            return dict(t.get("properties", {})), t.get("additionalProperties"), relative
        discriminator = t["discriminator"]
        value_node = next((v for k, v in _object_entries(node) if k == discriminator), None)
        if value_node is None:
            self.error(node, path, f"missing discriminator {discriminator!r}")
            return None
        value = _literal_string(value_node) if value_node.type == "string" else None
        if value is None:
            self.skip()
            return None
        if value not in t["elements"]:
            self.error(value_node, f"{path}.{discriminator}".lstrip("."), f"{value!r} is not one of {sorted(t['elements'])}")
            return None
        _, element = self.store.get(relative, t["elements"][value])
        properties = dict(t.get("baseProperties", {}))
        properties.update(element.get("properties", {}))
        return properties, element.get("additionalProperties"), relative

    def check_object(self, node, type_ref, path: str, scope, *, top: bool = False, existing: bool = False) -> None:
        shape = self._object_properties(type_ref, node, path)
        if shape is None:
            return
        properties, additional, relative = shape
        present = set()
        for key, value in _object_entries(node):
            if key is None:  # interpolated key: only a dictionary can say anything about it
                if additional is not None:
                    self.check(value, self.store.get(relative, additional), f"{path}[*]", scope)
                else:
                    self.skip()
                continue
            if top and key in DECLARATION_KEYWORDS:
                continue
            where = f"{path}.{key}" if path else key
            present.add(key)
            declared = properties.get(key)
            if declared is None:
                twin = next((p for p in properties if p.lower() == key.lower()), None)
                if twin is not None:
                    self.error(value, where, f"unknown property {key!r}: only the case differs from {twin!r}")
                elif additional is not None:
                    self.check(value, self.store.get(relative, additional), where, scope)
                else:
                    close = _close_names(key, properties)
                    hint = f" (did you mean {close}?)" if close else ""
                    self.error(value, where, f"unknown property {key!r}{hint}")
                continue
            if declared["flags"] & READ_ONLY:
                self.error(value, where, f"{key!r} is read-only")
                continue
            if existing and not (key == "name" or declared["flags"] & IDENTIFIER):
                self.error(value, where, f"{key!r} cannot be set on an existing resource")
                continue
            self.check(value, self.store.get(relative, declared["type"]), where, scope)
        if existing:
            return
        for name, declared in properties.items():
            if declared["flags"] & REQUIRED and not declared["flags"] & READ_ONLY and name not in present:
                self.error(node, f"{path}.{name}" if path else name, f"required property {name!r} is missing")


def _object_entries(node: tree_sitter.Node):
    """(key, value node) of an object literal; key None when it is interpolated."""
    for prop in node.named_children:
        if prop.type != "object_property":
            continue
        children = [c for c in prop.named_children if c.type != "comment"]
        if not children or children[0].type == "resource_declaration":
            continue
        key_node, value_node = children[0], children[-1]
        if key_node.type == "string":
            key = _literal_string(key_node)
        else:
            key = key_node.text.decode()
        yield key, value_node


def _close_names(key: str, properties: dict) -> list[str]:
    import difflib

    return difflib.get_close_matches(key, list(properties), n=2, cutoff=0.75)


def _resource_nodes(tree: tree_sitter.Tree):
    def walk(node):
        for child in node.children:
            if child.type == "resource_declaration":
                yield child
            yield from walk(child)

    yield from walk(tree.root_node)


def check_source(store: TypeStore, path: Path, source: bytes) -> Report:
    """Checks every resource declaration in one Bicep source."""
    tree = bicep_ast.parse_bytes(source)
    ctx = file_context(path, tree)
    report = Report()
    for node in _resource_nodes(tree):
        named = _named(node)
        symbol = named[0].text.decode()
        type_text = _literal_string(named[1])
        label = f"{symbol} ({type_text})"
        report.resources += 1
        walk = _Walk(store, ctx, label, report)
        if type_text is None or "@" not in type_text:
            walk.error(node, "", "computed resource type")
            continue
        type_name, _, api_version = type_text.partition("@")
        found = store.resource_type(type_name, api_version)
        if found is None:
            walk.error(node, "", f"{type_text} is not in ../shared/bicep-types (an API version nobody copied there, or one that does not exist; types the project adds itself go to tests/infra/bicep-types)")
            continue
        relative, resource_type = found
        existing = any(child.type == "existing" for child in node.children)
        body = named[-1]
        bindings: list[dict] = [{}]
        if body.type == "for_statement":
            bindings = _loop_bindings(body, ctx)
            body = _for_body(body)
        elif body.type == "if_statement":
            body = _named(body)[-1]
        if body.type != "object":
            walk.skip(body, "")
            continue
        body_ref = store.get(relative, resource_type["body"])
        for scope in bindings:
            walk.check_object(body, body_ref, "", scope, top=True, existing=existing)
    return report


def _loop_bindings(for_node: tree_sitter.Node, ctx: FileContext) -> list[dict]:
    """One scope per element when a resource loop runs over an array literal (directly or through
    a variable), binding the item variable to that element; otherwise one scope where every loop
    variable is unknown."""
    names = _loop_variables(for_node)
    unknown = [dict.fromkeys(names)]
    item_name = None
    for child in for_node.named_children:
        if child.type == "identifier" and child.next_sibling is not None and child.next_sibling.type == "in":
            item_name = child.text.decode()
        elif child.type == "for_loop_parameters":
            item_name = next((c.text.decode() for c in child.named_children if c.type == "loop_variable"), None)
    source = None
    seen_in = False
    for child in for_node.children:
        if seen_in and child.is_named:
            source = child
            break
        if child.type == "in":
            seen_in = True
    if source is not None and source.type == "identifier" and source.text.decode() in ctx.variables:
        source = ctx.variables[source.text.decode()]
    if item_name is None or source is None or source.type != "array":
        return unknown
    return [{**dict.fromkeys(names), item_name: element} for element in _named(source)]


@lru_cache(maxsize=None)
def default_store(root: Path) -> TypeStore:
    return TypeStore(root)


def check_file(store: TypeStore, path: Path) -> Report:
    return check_source(store, path, path.read_bytes())

"""Scenario parameters by dotted path: read, write and describe them; explain bad input.

The schema (the pydantic models of :mod:`sim.scenario`) is the one source of truth;
this is the one module that walks it by dotted path, for the CLI's ``--set``,
sweeps, validation and the UI alike. Paths are those of ``guanxi run --set``:
tables by key (``guanxi.enabled``, ``firms.ours.strategies.china.content_mix.relational``),
items of lists of tables by their key (:data:`LIST_KEYS`: ``markets.china``,
``firms.ours``, ``strategies.china``).

* :func:`get_value`, :func:`set_path`, :func:`check_path`: read, write and check a
  path in scenario data (raw or dumped dicts and lists, or a :class:`Scenario`);
* :func:`field_info`, :func:`field_kind`, :func:`bounds`, :func:`field_bounds`,
  :func:`field_unit`: what the schema says about a path or a field;
* :func:`iter_parameters`: every scalar parameter of a table;
* :func:`parse_assignment`, :func:`parse_value`: ``path=value`` text, read strictly:
  a value must be of its parameter's kind (true/false, a whole number, a number);
* :func:`describe_validation_error`: pydantic's first error as one line naming the
  key (list items by their key) and what is allowed; for scenarios and sweep files.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.scenario import Scenario, ScenarioError, suggest

#: Lists of tables are addressed by a key of their items: markets.china, firms.ours.strategies.china
LIST_KEYS = {"markets": "name", "firms": "name", "strategies": "market"}

Kind = Literal["float", "int", "bool", "choice"]

_READ, _CHECK, _WRITE = "read", "check", "write"
_REQUIRED = object()


class PathError(ScenarioError):
    """A dotted path that names no parameter (of the schema, or in the data).

    ``reason`` says why, without the path: "unknown key 'x' in model; ...".
    """

    def __init__(self, path: str, reason: str, source: str = "") -> None:
        self.path, self.reason, self.source = path, reason, source
        shown = repr(path) if not path or not all(path.split(".")) else path
        super().__init__(f"{source}: --set {shown}: {reason}" if source else f"{shown}: {reason}")

    def __reduce__(self):
        # Picklable with its own arguments, so that it crosses from a worker process.
        return (type(self), (self.path, self.reason, self.source))


# --------------------------------------------------------------------------- the walker
def _walk(data: Any, dotted: str, mode: str) -> tuple[Any, str, FieldInfo]:
    """Follow ``dotted`` through the schema and ``data`` (None: the schema only).

    Returns the table that holds the path's last key (None without data), the key
    and its FieldInfo. ``mode``: read (a missing key is an error), check (a missing
    table counts as empty) or write (a missing table is created).
    """
    parts = dotted.split(".")
    if not all(parts):
        raise PathError(dotted, "empty path component")
    node, schema, i = data, Scenario, 0
    while True:
        part, last = parts[i], i == len(parts) - 1
        fields = schema.model_fields
        if part not in fields:
            where = ".".join(parts[:i]) or "scenario"
            raise PathError(dotted, f"unknown key '{part}' in {where}{suggest(part, fields)}")
        if node is not None and not isinstance(node, Mapping | BaseModel):
            raise PathError(dotted, f"'{parts[i - 1]}' is not a table in the file")
        info = fields[part]
        item_model = list_item_model(info)
        if item_model is not None:
            key = LIST_KEYS[part]
            if last:
                raise PathError(dotted, f"name an item, e.g. {dotted}.<{key}>.<parameter>")
            if node is not None:
                node = _item(_child(node, part, mode, list, dotted), part, parts[i + 1], dotted)
            if i + 2 >= len(parts):
                raise PathError(dotted, f"name a parameter of {part} '{parts[i + 1]}'")
            schema, i = item_model, i + 2
            continue
        if last:
            return node, part, info
        sub = model_of(info.annotation)
        if sub is None:
            raise PathError(dotted, f"'{part}' is a value, not a table")
        if node is not None:
            node = _child(node, part, mode, dict, dotted)
        schema, i = sub, i + 1


def _child(node: Any, key: str, mode: str, empty: type, dotted: str) -> Any:
    if isinstance(node, BaseModel):
        return getattr(node, key)
    if mode == _WRITE:
        return node.setdefault(key, empty())
    if key in node:
        return node[key]
    if mode == _CHECK:
        return empty()
    raise PathError(dotted, f"'{key}' is not in the data")


def _item(items: Any, table: str, wanted: str, dotted: str) -> Any:
    """The item of a list of tables whose key is ``wanted``."""
    key = LIST_KEYS[table]
    tables = (
        [it for it in items if isinstance(it, Mapping | BaseModel)]
        if isinstance(items, list)
        else []
    )
    labels = [it.get(key) if isinstance(it, Mapping) else getattr(it, key) for it in tables]
    for item, label in zip(tables, labels, strict=True):
        if label == wanted:
            return item
    allowed = ", ".join(map(str, labels)) or "none defined"
    raise PathError(dotted, f"no {table} item with {key} '{wanted}'; allowed: {allowed}")


def list_item_model(info: FieldInfo) -> type[BaseModel] | None:
    """The model of the items of a list-of-tables field (list[MarketSection] -> MarketSection)."""
    if typing.get_origin(info.annotation) is not list:
        return None
    args = typing.get_args(info.annotation)
    return model_of(args[0]) if args else None


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The model of a table field's annotation; None for a value."""
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


# --------------------------------------------------------------------------- read and write
def get_value(data: Any, dotted: str, default: Any = _REQUIRED) -> Any:
    """The value at ``dotted`` in scenario data or a :class:`Scenario`.

    A path the schema or the data does not have raises :class:`PathError`, or
    gives ``default`` when one is given.
    """
    try:
        node, key, _ = _walk(data, dotted, _READ)
        return _child(node, key, _READ, dict, dotted)
    except PathError:
        if default is _REQUIRED:
            raise
        return default


def set_path(data: dict[str, Any], dotted: str, value: Any, source: str = "--set") -> None:
    """Set ``dotted`` in raw scenario data, checking that the path names a parameter.

    Missing tables are created; a bad path raises :class:`PathError` whose message
    names ``source``, the path and the reason. A table given as a whole
    (``model={n_users=200}``) sets the keys it names and keeps the others.
    """
    node, key, table = _settable(data, dotted, value, source, _WRITE)
    if table is not None:
        for name, item in value.items():
            set_path(data, f"{dotted}.{name}", item, source)
        return
    node[key] = value


def check_path(data: Mapping[str, Any], dotted: str, value: Any, source: str = "--set") -> None:
    """Raise :class:`PathError` unless :func:`set_path` could set ``dotted`` to ``value``.

    ``data`` is left as it is. The value itself is checked when the scenario is
    validated.
    """
    _, _, table = _settable(data, dotted, value, source, _CHECK)
    if table is not None:
        for name, item in value.items():
            check_path(data, f"{dotted}.{name}", item, source)


def _settable(
    data: Any, dotted: str, value: Any, source: str, mode: str
) -> tuple[Any, str, type[BaseModel] | None]:
    """The table and key ``dotted`` names, and the key's model if it is a table."""
    try:
        node, key, info = _walk(data, dotted, mode)
        table = model_of(info.annotation)
        if table is not None and not isinstance(value, Mapping):
            raise PathError(
                dotted, f"is a table; set one of its keys: {', '.join(table.model_fields)}"
            )
    except PathError as exc:
        raise PathError(dotted, exc.reason, source) from None
    return node, key, table


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``dotted.path=value``; the value is read as a TOML value, else as a string.

    Strict where the path names a parameter of the schema: its value must be of the
    parameter's kind, without conversion (:func:`strict_value`). A path the schema
    does not have is left for :func:`set_path` or :func:`check_path` to refuse.
    """
    if "=" not in text:
        raise ScenarioError(
            f"--set {text!r}: expected dotted.path=value, e.g. guanxi.enabled=false"
        )
    dotted, value_text = (part.strip() for part in text.split("=", 1))
    try:
        value = parse_value(value_text)
    except ScenarioError as exc:
        raise ScenarioError(f"--set {dotted}: {exc}") from None
    return dotted, strict_value(dotted, value, value_text)


#: Deepest nesting of arrays and inline tables read in a --set value.
MAX_VALUE_DEPTH = 50


def parse_value(value_text: str) -> Any:
    """A TOML value (number, boolean, string, array, inline table) or a bare string.

    A value nested deeper than :data:`MAX_VALUE_DEPTH` raises :class:`ScenarioError`.
    """
    if _depth(value_text) > MAX_VALUE_DEPTH:
        raise ScenarioError(f"value nested more than {MAX_VALUE_DEPTH} levels deep")
    try:
        return tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        return value_text
    except RecursionError:
        raise ScenarioError(f"value nested more than {MAX_VALUE_DEPTH} levels deep") from None


def _depth(text: str) -> int:
    """Most brackets and braces open at once (an upper bound of the TOML nesting)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


_KIND_TEXT = {"bool": "true or false", "int": "a whole number", "float": "a number"}


def strict_value(dotted: str, value: Any, value_text: str | None = None) -> Any:
    """``value`` if it is of the kind of the parameter ``dotted``, else ScenarioError.

    No conversion: a switch takes true or false (not "yes"), a count a whole number
    (not true, not 2.0), a quantity a number; a table given whole is checked key by
    key. A name (a text parameter) given as unquoted ``value_text`` is that text as
    written (``model.name=2024`` is the name "2024"). Paths the schema does not have
    are not checked here.
    """
    try:
        info = field_info(dotted)
    except PathError:
        return value
    table = model_of(info.annotation)
    if table is not None:
        if not isinstance(value, Mapping):
            return value  # set_path says it is a table
        return {
            key: strict_value(f"{dotted}.{key}", item) if key in table.model_fields else item
            for key, item in value.items()
        }
    kind, options = field_kind(info)
    if kind is None:
        return value
    if kind == "choice":
        if isinstance(value, str):
            return value
        if value_text is not None and not options:
            return value_text
        expected = f"one of {', '.join(map(str, options))}" if options else "a text in quotes"
    else:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        fits = {
            "bool": isinstance(value, bool),
            "int": is_number and isinstance(value, int),
            "float": is_number,
        }[kind]
        if fits:
            return value
        expected = _KIND_TEXT[kind]
        if kind == "int" and isinstance(value, float) and value.is_integer():
            expected += f" (write {int(value)})"
    allowed = bounds(info).text() if kind in ("int", "float") else ""
    given = f"{dotted}={value_text}" if value_text is not None else dotted
    raise ScenarioError(
        f"--set {given}: expected {expected}, got {_shown(value)}"
        + (f"; allowed: {allowed}" if allowed else "")
    )


def _shown(value: Any) -> str:
    """A value as TOML writes it (true, 2.5, 'text'), cut short."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Mapping):
        text = "a table"
    elif isinstance(value, list):
        text = "an array"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- describe
def field_info(dotted: str) -> FieldInfo:
    """The schema's FieldInfo of a parameter path, e.g. ``markets.china.organic_reach``."""
    return _walk(None, dotted, _READ)[2]


def iter_parameters(
    schema: type[BaseModel] = Scenario, prefix: str = ""
) -> Iterable[tuple[str, FieldInfo]]:
    """(dotted name, FieldInfo) for every scalar parameter of a table; lists not entered."""
    for name, info in schema.model_fields.items():
        sub = model_of(info.annotation)
        if sub is not None:
            yield from iter_parameters(sub, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def field_kind(info: FieldInfo) -> tuple[Kind | None, tuple[Any, ...]]:
    """What a field holds, and its allowed values where the type lists them.

    ``bool`` (False, True); ``int``, ``float`` (); ``choice``: a name, the allowed
    names of a Literal, or () when any name is allowed; None: a table or a list.
    """
    annotation = info.annotation
    if annotation is bool:
        return "bool", (False, True)
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if typing.get_origin(annotation) is Literal:
        return "choice", typing.get_args(annotation)
    if annotation is str:
        return "choice", ()
    return None, ()


@dataclass(frozen=True)
class Bounds:
    """A numeric field's bounds from its schema metadata; None: unbounded."""

    lower: float | None = None
    lower_strict: bool = False
    upper: float | None = None
    upper_strict: bool = False

    def admits(self, value: float) -> bool:
        above = self.lower is None or (
            value > self.lower if self.lower_strict else value >= self.lower
        )
        below = self.upper is None or (
            value < self.upper if self.upper_strict else value <= self.upper
        )
        return above and below

    def text(self) -> str:
        """``>= 0 and <= 1``; empty when unbounded."""
        parts = []
        if self.lower is not None:
            parts.append(f"{'>' if self.lower_strict else '>='} {_number(self.lower)}")
        if self.upper is not None:
            parts.append(f"{'<' if self.upper_strict else '<='} {_number(self.upper)}")
        return " and ".join(parts)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bounds(info: FieldInfo) -> Bounds:
    """The bounds of a numeric field (ge, gt, le, lt in its metadata)."""
    found: dict[str, Any] = {}
    for meta in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                found[attr] = getattr(meta, attr)
    lower_strict, upper_strict = "gt" in found, "lt" in found
    lower = found.get("gt" if lower_strict else "ge")
    upper = found.get("lt" if upper_strict else "le")
    return Bounds(lower, lower_strict, upper, upper_strict)


def field_bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """(lower, upper) bounds of a numeric field, None where unbounded."""
    found = bounds(info)
    return found.lower, found.upper


def field_unit(info: FieldInfo) -> str:
    """The unit of a field (``param(..., unit=...)``), or ""."""
    extra = info.json_schema_extra or {}
    return extra.get("unit", "") if isinstance(extra, dict) else ""


# --------------------------------------------------------------------------- errors
def describe_validation_error(
    exc: ValidationError,
    data: Mapping[str, Any],
    schema: type[BaseModel] = Scenario,
    list_keys: Mapping[str, str] = LIST_KEYS,
) -> str:
    """One line for the first error: the dotted key (items by their key) and what is allowed.

    ``schema`` is the model that validated ``data`` (a scenario by default; a sweep
    file passes its own, with its lists' item keys).
    """
    err = exc.errors()[0]
    loc = list(err["loc"])
    key, table = readable_location(loc, data, schema, list_keys)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = table.model_fields if table is not None else []
        return f"unknown key '{key}'{suggest(str(loc[-1]), allowed)}"
    if kind == "missing":
        return f"missing required key '{key}'"
    message = err["msg"].removeprefix("Value error, ")
    info = table.model_fields.get(str(loc[-1])) if table is not None and loc else None
    allowed = bounds(info).text() if info is not None else ""
    got = err.get("input")
    got_text = f" (got {got!r})" if not isinstance(got, Mapping | list) and got is not None else ""
    where = f"{key}: " if key else ""
    return f"{where}{message}{got_text}{f'; allowed: {allowed}' if allowed else ''}"


def readable_location(
    loc: Iterable[Any],
    data: Mapping[str, Any],
    schema: type[BaseModel] = Scenario,
    list_keys: Mapping[str, str] = LIST_KEYS,
) -> tuple[str, type[BaseModel] | None]:
    """An error location as a dotted key, and the model of the table that holds it.

    ``('firms', 0, 'strategies', 1, 'x')`` -> ``firms.ours.strategies.china.x``; an
    item without its key is shown by position (``markets[2].x``). Past a value (a
    union member's tag) nothing more is added.
    """
    names: list[str] = []
    node: Any = data
    table: type[BaseModel] | None = schema
    parent: type[BaseModel] | None = schema
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            key = list_keys.get(names[-1]) if names else None
            label = item.get(key) if isinstance(item, Mapping) and key else None
            names.append(label if isinstance(label, str) and label else f"[{part}]")
            node = item
            continue
        if table is None:
            continue
        names.append(str(part))
        parent = table
        info = table.model_fields.get(str(part))
        table = None if info is None else (model_of(info.annotation) or list_item_model(info))
        node = node.get(part) if isinstance(node, Mapping) else None
    return ".".join(names).replace(".[", "["), parent

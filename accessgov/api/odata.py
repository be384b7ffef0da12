"""OData query options on API lists: $top, $skip, $orderby, $filter, $count.

`$filter` is parsed by odata-query (a maintained OData v4 grammar); we only check that it names
allowed fields and functions, map PascalCase names to model fields, and let its Django visitor
build the Q object.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import FieldError, ValidationError
from django.db.models import Q, QuerySet
from odata_query import ast as odata_ast
from odata_query import exceptions as odata_exceptions
from odata_query.django.django_q import AstToDjangoQVisitor
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.rewrite import AliasRewriter
from odata_query.visitor import NodeVisitor

DEFAULT_TOP = 50
MAX_TOP = 500
MAX_FILTER_LENGTH = 2000
ALLOWED_FUNCTIONS = {"contains", "startswith"}
KNOWN_OPTIONS = {"$top", "$skip", "$orderby", "$filter", "$count"}


class ODataError(ValueError):
    """A query option the API cannot honour; the message names the problem."""


@dataclass(frozen=True)
class ListQuery:
    top: int
    skip: int
    queryset: QuerySet


# Which literals may be compared with a field of each kind; anything else is refused before SQL
# (PostgreSQL would otherwise fail on, say, a date compared with a text column).
LITERALS_FOR = {
    "text": (odata_ast.String,),
    "integer": (odata_ast.Integer,),
    "datetime": (odata_ast.DateTime, odata_ast.Date),
    # A day (GET Usage's Day): a date-time would be cut to its date silently, or fail on PostgreSQL.
    "date": (odata_ast.Date,),
}
KIND_OF = {
    "CharField": "text",
    "TextField": "text",
    "SlugField": "text",
    "GenericIPAddressField": "text",
    "AutoField": "integer",
    "BigAutoField": "integer",
    "IntegerField": "integer",
    "BigIntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "DateTimeField": "datetime",
    "DateField": "date",
}
MAX_INTEGER = 2**63 - 1


class _FieldCheck(NodeVisitor):
    def __init__(self, fields: dict[str, str], model=None, kinds: dict[str, str] | None = None):
        self.fields = fields
        self.model = model
        self.kinds = kinds

    def _kind(self, name: str) -> str:
        if self.kinds is not None:
            return self.kinds.get(self.fields[name], "other")
        # A field may live on a related row ("tenant__external_id"), as the operator's lists name it.
        model, (*relations, last) = self.model, self.fields[name].split("__")
        for relation in relations:
            model = model._meta.get_field(relation).related_model
        field = model._meta.get_field(last)
        return KIND_OF.get(field.get_internal_type(), "other")

    def _check_operands(self, identifier, literal) -> None:
        if (self.model is None and self.kinds is None) or not isinstance(identifier, odata_ast.Identifier):
            return
        self.visit(identifier)
        if isinstance(literal, odata_ast.Null):
            return
        if not isinstance(literal, odata_ast._Literal):
            raise ODataError(f"$filter must compare {identifier.name} with a value, not with an expression.")
        kind = self._kind(identifier.name)
        if not isinstance(literal, LITERALS_FOR.get(kind, (odata_ast._Literal,))):
            wanted = {
                "text": "a 'quoted string'",
                "integer": "a whole number",
                "datetime": "a date or date-time",
                "date": "a date such as 2026-11-30",
            }
            raise ODataError(f"$filter compares {identifier.name} with {wanted.get(kind, 'a value')}.")
        if isinstance(literal, odata_ast.Integer) and abs(int(literal.val)) > MAX_INTEGER:
            raise ODataError(f"$filter value for {identifier.name} is out of range.")

    def visit_Compare(self, node) -> None:  # noqa: N802
        left, right = node.left, node.right
        if isinstance(right, odata_ast.Identifier) and not isinstance(left, odata_ast.Identifier):
            left, right = right, left
        if not isinstance(left, odata_ast.Identifier):
            for side in (left, right):
                if isinstance(side, odata_ast.Call):
                    self.visit(side)  # names a function we do not offer, if it is one
            raise ODataError("$filter comparisons need a field on one side, such as Name eq 'Contoso'.")
        self._check_operands(left, right)

    def visit_Identifier(self, node: odata_ast.Identifier) -> None:  # noqa: N802 - visitor protocol
        if node.namespace or node.name not in self.fields:
            allowed = ", ".join(sorted(self.fields))
            raise ODataError(
                f"$filter cannot use the field '{node.name}'. Fields you can filter on: {allowed}."
            )

    def visit_Call(self, node: odata_ast.Call) -> None:  # noqa: N802
        if node.func.name not in ALLOWED_FUNCTIONS:
            raise ODataError(
                f"$filter cannot call '{node.func.name}'. Functions you can use: contains, startswith."
            )
        if len(node.args) != 2:
            raise ODataError(f"{node.func.name}() takes a field and a 'quoted string'.")
        field, value = node.args
        if not isinstance(field, odata_ast.Identifier):
            raise ODataError(f"{node.func.name}() takes a field first.")
        self.visit(field)
        if self.model is not None and (
            self._kind(field.name) != "text" or not isinstance(value, odata_ast.String)
        ):
            raise ODataError(f"{node.func.name}() works on text fields with a 'quoted string'.")

    def visit_Lambda(self, node) -> None:  # noqa: N802
        raise ODataError("$filter does not support any/all.")

    def visit_Attribute(self, node) -> None:  # noqa: N802
        # Name/Length or Tenant/Name would walk to another field or a related row.
        raise ODataError("$filter cannot use paths such as Name/Something; use the fields themselves.")

    def generic_visit(self, node) -> None:
        for value in vars(node).values():
            if isinstance(value, odata_ast._Node):
                self.visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, odata_ast._Node):
                        self.visit(item)


MAX_SKIP = 10_000_000


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    # ASCII digits only ("²".isdigit() is true), and few enough that no database overflows.
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ODataError(f"{name} must be a whole number, not '{raw[:40]}'.")
    value = int(raw)
    if value < minimum or value > maximum:
        raise ODataError(f"{name} must be between {minimum} and {maximum}.")
    return value


def parse_filter(raw: str, fields: dict[str, str], model, kinds: dict[str, str] | None = None) -> Q:
    """Return the Q object of the $filter expression RAW over the PascalCase FIELDS.

    Literals are checked against MODEL's field types, or against KINDS (column → "text",
    "integer", "datetime") for a list that is not one model's (a UNION of several).
    """
    if len(raw) > MAX_FILTER_LENGTH:
        raise ODataError(f"$filter is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(raw))
    except odata_exceptions.ODataException as error:
        raise ODataError(f"$filter is not valid OData: {error}.") from error
    except RecursionError as error:
        raise ODataError("$filter is nested too deeply.") from error
    if tree is None:
        raise ODataError("$filter is empty.")
    _FieldCheck(fields, model, kinds).visit(tree)
    tree = AliasRewriter(fields).visit(tree)
    try:
        result = AstToDjangoQVisitor(model).visit(tree)
    except (
        odata_exceptions.ODataException,
        TypeError,
        ValueError,
        AttributeError,
        # odata-query's visitor raises it for shapes it does not translate ("null eq Id", a
        # field used as a condition); tests/fuzz/test_parsers.py found both.
        NotImplementedError,
    ) as error:
        raise ODataError(f"$filter cannot be applied: {error}.") from error
    if not isinstance(result, Q):
        raise ODataError("$filter must be a condition, such as Name eq 'Contoso'.")
    return result


def columns_of(condition: Q) -> set[str]:
    """Return the names of the columns CONDITION (from parse_filter) compares."""
    names = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= columns_of(child)
        elif isinstance(child, tuple):
            names.add(child[0].split("__")[0])
        else:  # a lookup such as Exact(F("day"), Value(...))
            names |= {
                expression.name
                for expression in child.get_source_expressions()
                if hasattr(expression, "name")
            }
    return names


def parse_orderby(raw: str, fields: dict[str, str]) -> list[str]:
    """Return the order_by() arguments of the $orderby option RAW."""
    ordering = []
    for part in raw.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in {"asc", "desc"}):
            raise ODataError(
                f"$orderby part '{part.strip()[:60]}' must be a field optionally followed by asc or desc."
            )
        name = words[0]
        if name not in fields:
            allowed = ", ".join(sorted(fields))
            raise ODataError(f"$orderby cannot use the field '{name}'. Fields you can sort by: {allowed}.")
        descending = len(words) == 2 and words[1].lower() == "desc"
        ordering.append(("-" if descending else "") + fields[name])
    return ordering


def parse_paging(params) -> tuple[int, int]:
    """Check the option names in PARAMS and return its $top and $skip."""
    unknown = sorted(key for key in params if key.startswith("$") and key not in KNOWN_OPTIONS)
    if unknown:
        raise ODataError(f"Unknown query option {unknown[0]}. Supported: {', '.join(sorted(KNOWN_OPTIONS))}.")
    top = _parse_int("$top", params.get("$top", str(DEFAULT_TOP)), minimum=0, maximum=MAX_TOP)
    skip = _parse_int("$skip", params.get("$skip", "0"), minimum=0, maximum=MAX_SKIP)
    # Accepted for OData clients; TotalCount is always sent (docs/api.md).
    if params.get("$count", "false").lower() not in {"true", "false"}:
        raise ODataError("$count must be true or false.")
    return top, skip


def apply(queryset: QuerySet, params, fields: dict[str, str], default_order: list[str]) -> ListQuery:
    """Apply the OData options in PARAMS (a QueryDict) to QUERYSET and return the page to fetch."""
    top, skip = parse_paging(params)
    if "$filter" in params:
        condition = parse_filter(params["$filter"], fields, queryset.model)
        try:
            queryset = queryset.filter(condition)
        except (FieldError, TypeError, ValueError, OverflowError, ValidationError, RecursionError) as error:
            raise ODataError(
                "$filter cannot be applied: a value does not fit its field, or it is nested too deeply."
            ) from error
    ordering = parse_orderby(params["$orderby"], fields) if params.get("$orderby") else []
    # The primary key last, so pages never overlap or skip rows with equal sort values.
    pk = queryset.model._meta.pk.name
    tiebreak = (
        []
        if any(field.lstrip("-") == pk for field in ordering)
        else [f"-{pk}" if default_order[0].startswith("-") else pk]
    )
    queryset = queryset.order_by(*(ordering or default_order), *tiebreak)
    return ListQuery(top=top, skip=skip, queryset=queryset)


def next_link(path: str, params, query: ListQuery, returned: int, has_more: bool) -> str | None:
    """Return the URL of the next page, or None on the last one."""
    if not has_more or query.top == 0:
        return None
    # Only our own options: anything else a client put in the URL (say, a key) is not echoed back.
    kept = {key: value for key, value in params.items() if key in KNOWN_OPTIONS and key != "$skip"}
    kept["$skip"] = str(query.skip + returned)
    return f"{path}?{urlencode(kept)}"

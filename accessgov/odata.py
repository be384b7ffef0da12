"""OData query options on API lists: $top, $skip, $orderby, $filter, $count.

`$filter` is parsed by odata-query (a maintained OData v4 grammar); we only check that it names
allowed fields and functions, map PascalCase names to model fields, and let its Django visitor
build the Q object.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

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
    count: bool
    queryset: QuerySet


class _FieldCheck(NodeVisitor):
    def __init__(self, fields: dict[str, str]):
        self.fields = fields

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
        for argument in node.args:
            self.visit(argument)

    def visit_Lambda(self, node) -> None:  # noqa: N802
        raise ODataError("$filter does not support any/all.")

    def generic_visit(self, node) -> None:
        for value in vars(node).values():
            if isinstance(value, odata_ast._Node):
                self.visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, odata_ast._Node):
                        self.visit(item)


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int | None = None) -> int:
    if not raw.isdigit():
        raise ODataError(f"{name} must be a whole number, not '{raw[:40]}'.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ODataError(f"{name} must be {bound}.")
    return value


def parse_filter(raw: str, fields: dict[str, str], model) -> Q:
    """Return the Q object of the $filter expression RAW over the PascalCase FIELDS."""
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
    _FieldCheck(fields).visit(tree)
    tree = AliasRewriter(fields).visit(tree)
    try:
        result = AstToDjangoQVisitor(model).visit(tree)
    except (odata_exceptions.ODataException, TypeError, ValueError, AttributeError) as error:
        raise ODataError(f"$filter cannot be applied: {error}.") from error
    if not isinstance(result, Q):
        raise ODataError("$filter must be a condition, such as Name eq 'Contoso'.")
    return result


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


def apply(queryset: QuerySet, params, fields: dict[str, str], default_order: list[str]) -> ListQuery:
    """Apply the OData options in PARAMS (a QueryDict) to QUERYSET and return the page to fetch."""
    unknown = sorted(key for key in params if key.startswith("$") and key not in KNOWN_OPTIONS)
    if unknown:
        raise ODataError(f"Unknown query option {unknown[0]}. Supported: {', '.join(sorted(KNOWN_OPTIONS))}.")
    top = _parse_int("$top", params.get("$top", str(DEFAULT_TOP)), minimum=0, maximum=MAX_TOP)
    skip = _parse_int("$skip", params.get("$skip", "0"), minimum=0)
    count_raw = params.get("$count", "false").lower()
    if count_raw not in {"true", "false"}:
        raise ODataError("$count must be true or false.")
    if "$filter" in params:
        queryset = queryset.filter(parse_filter(params["$filter"], fields, queryset.model))
    ordering = parse_orderby(params["$orderby"], fields) if params.get("$orderby") else []
    # The primary key last, so pages never overlap or skip rows with equal sort values.
    pk = queryset.model._meta.pk.name
    tiebreak = (
        []
        if any(field.lstrip("-") == pk for field in ordering)
        else [f"-{pk}" if default_order[0].startswith("-") else pk]
    )
    queryset = queryset.order_by(*(ordering or default_order), *tiebreak)
    return ListQuery(top=top, skip=skip, count=count_raw == "true", queryset=queryset)


def next_link(path: str, params, query: ListQuery, returned: int, has_more: bool) -> str | None:
    """Return the URL of the next page, or None on the last one."""
    if not has_more or query.top == 0:
        return None
    kept = {key: value for key, value in params.items() if key != "$skip"}
    kept["$skip"] = str(query.skip + returned)
    return f"{path}?{urlencode(kept)}"

"""The JSON envelope every answer of /api/v1/ is wrapped in, and the schemas it declares."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError
from django.http import HttpRequest, JsonResponse
from ninja import Schema

from accessgov.api import odata


class ApiError(Exception):
    """An answer other than 2xx, rendered in the JSON envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(status: int, code: str, message: str) -> dict:
    """Return the envelope of a refusal: its status, a stable code and a sentence for people."""
    return {"Meta": {"ResponseCode": status}, "Error": {"Code": code, "Message": message}}


# Schemas: PascalCase JSON, as the API has always spoken.


class ListMeta(Schema):
    ResponseCode: int
    TotalCount: int
    NextLink: str | None


class ErrorDetail(Schema):
    Code: str
    Message: str


class ErrorMeta(Schema):
    ResponseCode: int


class ErrorOut(Schema):
    Meta: ErrorMeta
    Error: ErrorDetail


class MeMeta(Schema):
    ResponseCode: int


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def respond(payload: dict, status: int = 200) -> JsonResponse:
    """Return PAYLOAD as JSON.

    The operations declare their response schemas for the OpenAPI document, but build the JSON
    themselves: validating our own output again on every call cost a fifth of a warm request.
    tests/api/test_resources.py asserts the shapes against the schemas instead.
    """
    return JsonResponse(payload, status=status, encoder=DjangoJSONEncoder)


def one_response(row: dict) -> JsonResponse:
    """Return the envelope of one resource."""
    return respond({"Data": row, "Meta": {"ResponseCode": 200}})


def list_response(request: HttpRequest, query: odata.ListQuery, serialize, page=None) -> JsonResponse:
    """Return the list envelope of QUERY's page, serialized by SERIALIZE.

    PAGE, if given, takes the page's rows and returns them completed (say, by one more query for
    the whole page) before each is serialized.

    TotalCount is always sent, whatever $count says: counting is one indexed query and clients
    page by it (docs/api.md says so).
    """
    try:
        total = query.queryset.count()
        rows = list(query.queryset[query.skip : query.skip + query.top]) if query.top else []
    except (OverflowError, DataError) as error:
        # A number in $filter larger than the column holds: the client's mistake, not ours.
        raise odata.ODataError("A value in $filter is out of range for its field.") from error
    has_more = query.skip + len(rows) < total
    if page is not None:
        rows = page(rows)
    return respond(
        {
            "Data": [serialize(row) for row in rows],
            "Meta": {
                "ResponseCode": 200,
                "TotalCount": total,
                "NextLink": odata.next_link(request.path, request.GET, query, len(rows), has_more),
            },
        }
    )

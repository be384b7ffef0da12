"""The JSON bodies both APIs accept: JSON whose text holds no NUL character.

PostgreSQL cannot store U+0000 in text, so a name or e-mail carrying one (sent as "\\u0000")
would fail deep inside a save; it is refused here, before anything runs, with a clear answer.
"""

import json

from ninja.parser import Parser

from accessgov.api.envelope import ApiError

NUL_REFUSED = ApiError(
    400, "invalid_request", "The request is not valid: text may not contain the NUL character (\\u0000)."
)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class JsonParser(Parser):
    """Ninja's JSON parser, refusing any string (key or value) with a NUL character."""

    def parse_body(self, request):
        body = json.loads(request.body)
        if _has_nul(body):
            raise NUL_REFUSED
        return body

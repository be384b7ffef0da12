"""One field table per API resource: it names the JSON fields, serializes a row and tells OData which
fields can be filtered and sorted on. tests/api/test_resources.py checks each table against the
resource's Schema, so the three can never spell a field differently."""

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter


@dataclass(frozen=True)
class Field:
    name: str  # the PascalCase name in the JSON
    attribute: str  # the model attribute it is read from
    # The model field $filter and $orderby use; None: shown but not queryable.
    column: str | None = None
    convert: Callable | None = None  # applied to the attribute's value, if given
    # The permission a caller needs to see the value; without it the field is null. None: everyone.
    permission: str | None = None

    def read(self, row) -> object:
        value = attrgetter(self.attribute)(row)
        return self.convert(value) if self.convert is not None else value


class Resource:
    """The fields of one resource, in the order the JSON shows them."""

    def __init__(self, *fields: Field):
        for field in fields:
            if field.permission is not None and field.column is not None:
                # $filter and $orderby on a field would reveal it to callers who may not see it.
                raise ValueError(f"{field.name} needs a permission to be seen, so it cannot be queryable.")
        self.fields = fields
        self.names = tuple(field.name for field in fields)
        # PascalCase name → model field, for accessgov.api.odata.
        self.queryable = {field.name: field.column for field in fields if field.column is not None}

    def serialize(self, row, permissions: frozenset[str] = frozenset()) -> dict:
        """Return ROW as the resource's JSON object for a caller holding PERMISSIONS."""
        return {
            field.name: field.read(row)
            if field.permission is None or field.permission in permissions
            else None
            for field in self.fields
        }

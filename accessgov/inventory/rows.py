"""One inventory row as the page and the CSV show it."""

from dataclasses import dataclass
from datetime import datetime

from accessgov.inventory.credentials import COLUMNS, Kind, Status

# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection); a leading
# apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """Return VALUE as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class Row:
    kind: str
    credential_id: int
    tenant_ref: int
    tenant_name: str
    tenant_slug: str
    label: str
    identifier: str
    creator: str
    permission_count: int
    ip_restricted: bool
    every_organization: bool
    organization_count: int
    valid_from: datetime | None
    valid_until: datetime | None
    last_used: datetime | None
    status: str

    CSV_HEADER = (
        "Tenant",
        "Type",
        "Name",
        "Identifier",
        "Creator",
        "Permissions",
        "IP restricted",
        "Organizations",
        "Start",
        "Expiry",
        "Last used",
        "Status",
    )

    @classmethod
    def from_values(cls, values: dict) -> "Row":
        return cls(*(values[column] for column in COLUMNS))

    @property
    def kind_label(self) -> str:
        return Kind.LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return Status.LABELS[self.status]

    @property
    def organizations_label(self) -> str:
        if self.kind == Kind.WEBHOOK_SECRET:
            return "—"
        if self.every_organization:
            return "All"
        return str(self.organization_count)

    @property
    def permissions_label(self) -> str:
        return "—" if self.kind == Kind.WEBHOOK_SECRET else str(self.permission_count)

    def csv(self) -> list:
        return [
            self.tenant_name,
            self.kind_label,
            self.label,
            self.identifier,
            self.creator,
            self.permissions_label,
            "yes" if self.ip_restricted else "no",
            self.organizations_label,
            _iso(self.valid_from),
            _iso(self.valid_until),
            _iso(self.last_used),
            self.status_label,
        ]

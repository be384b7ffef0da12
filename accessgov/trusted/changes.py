"""What consenting again would change: the live authorization's terms against the new ones (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Terms:
    """The permissions and organizations an authorization grants."""

    permissions: tuple[str, ...]
    all_organizations: bool
    organization_ids: tuple[int, ...]

    @classmethod
    def of(cls, *, permissions: Iterable[str], all_organizations: bool, organization_ids: Iterable[int]):
        """Return the terms; chosen organizations mean nothing when all of them are granted."""
        return cls(
            tuple(permissions), all_organizations, () if all_organizations else tuple(organization_ids)
        )


@dataclass(frozen=True)
class TermsChange:
    """What replacing the live terms with the new ones adds and removes."""

    permissions_added: tuple[str, ...] = ()
    permissions_removed: tuple[str, ...] = ()
    organizations_added: tuple[int, ...] = ()
    organizations_removed: tuple[int, ...] = ()
    all_organizations_added: bool = False
    all_organizations_removed: bool = False

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def compare_terms(live: Terms, new: Terms) -> TermsChange:
    """Return what NEW adds to and removes from LIVE, in each side's own order."""
    return TermsChange(
        permissions_added=tuple(p for p in new.permissions if p not in live.permissions),
        permissions_removed=tuple(p for p in live.permissions if p not in new.permissions),
        organizations_added=tuple(pk for pk in new.organization_ids if pk not in live.organization_ids),
        organizations_removed=tuple(pk for pk in live.organization_ids if pk not in new.organization_ids),
        all_organizations_added=new.all_organizations and not live.all_organizations,
        all_organizations_removed=live.all_organizations and not new.all_organizations,
    )

"""compare_terms: what consenting again adds to and removes from a live authorization."""

import pytest

from accessgov.trusted.changes import Terms, TermsChange, compare_terms


def terms(permissions=("Me.Read",), all_organizations=False, organization_ids=()) -> Terms:
    return Terms.of(
        permissions=permissions, all_organizations=all_organizations, organization_ids=organization_ids
    )


def test_the_same_terms_change_nothing_whatever_the_order():
    live = terms(["Me.Read", "Organizations.Read"], organization_ids=[1, 2])
    new = terms(["Organizations.Read", "Me.Read"], organization_ids=[2, 1])
    change = compare_terms(live, new)
    assert change == TermsChange() and not change


def test_a_narrower_scope_removes_a_permission_and_a_wider_one_adds_it():
    wide, narrow = terms(["Me.Read", "Organizations.Read"]), terms(["Me.Read"])
    assert compare_terms(wide, narrow) == TermsChange(permissions_removed=("Organizations.Read",))
    assert compare_terms(narrow, wide) == TermsChange(permissions_added=("Organizations.Read",))


def test_organizations_added_and_removed_are_listed():
    change = compare_terms(terms(organization_ids=[1, 2]), terms(organization_ids=[2, 3]))
    assert (change.organizations_added, change.organizations_removed) == ((3,), (1,))
    assert not change.all_organizations_added and not change.all_organizations_removed


@pytest.mark.parametrize(
    ("live", "new", "expected"),
    [
        (
            terms(organization_ids=[1]),
            terms(all_organizations=True),
            TermsChange(organizations_removed=(1,), all_organizations_added=True),
        ),
        (
            terms(all_organizations=True),
            terms(organization_ids=[1]),
            TermsChange(organizations_added=(1,), all_organizations_removed=True),
        ),
        (terms(all_organizations=True), terms(all_organizations=True), TermsChange()),
    ],
)
def test_switching_between_all_and_chosen_organizations(live, new, expected):
    assert compare_terms(live, new) == expected


def test_chosen_organizations_are_ignored_when_all_are_granted():
    assert terms(all_organizations=True, organization_ids=[1]).organization_ids == ()

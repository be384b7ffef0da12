"""The Django admin: searchable and filterable, revocation audited as the staff member, no digest."""

from accessgov.audit.models import AuditEvent
from tests.factories import ThirdPartyTokenFactory

CHANGELIST = "/admin/tokens/thirdpartytoken/"


def test_tokens_are_searchable_by_name_token_id_tenant_and_partner_id(staff_client, tenant, other_tenant):
    mine = ThirdPartyTokenFactory(tenant=tenant, name="Acme backup")
    theirs = ThirdPartyTokenFactory(tenant=other_tenant, name="Rival backup")
    for term, expected in [
        ("Acme backup", {mine}),
        (theirs.token_id, {theirs}),
        ("rival", {theirs}),
        (tenant.partner_id, {mine}),
        (mine.digest, set()),  # the digest is not searchable
    ]:
        body = staff_client.get(CHANGELIST, {"q": term}).content.decode()
        assert {t for t in (mine, theirs) if t.token_id in body} == expected, term


def test_the_status_filter_uses_the_token_rules(staff_client, tenant):
    active = ThirdPartyTokenFactory(tenant=tenant)
    revoked = ThirdPartyTokenFactory(tenant=tenant, revoked=True)
    body = staff_client.get(CHANGELIST, {"status": "revoked"}).content.decode()
    assert revoked.token_id in body and active.token_id not in body


def test_no_secret_or_digest_is_shown_or_editable(staff_client, tenant):
    """Attack catalogue case 49: the admin never shows a digest or secret."""
    token = ThirdPartyTokenFactory(tenant=tenant)
    for url in [CHANGELIST, f"{CHANGELIST}{token.pk}/change/"]:
        body = staff_client.get(url).content.decode()
        assert token.token_id in body
        assert token.digest not in body and token.secret not in body and "pepper" not in body.lower()
    response = staff_client.post(f"{CHANGELIST}{token.pk}/change/", {"name": "hijacked", "digest": "0" * 64})
    assert response.status_code == 403
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
    assert staff_client.get(f"{CHANGELIST}{token.pk}/delete/").status_code == 403


def test_the_revoke_action_revokes_the_selected_tokens_audited_as_the_staff_member(staff_client, tenant):
    first, second = ThirdPartyTokenFactory(tenant=tenant), ThirdPartyTokenFactory(tenant=tenant)
    already = ThirdPartyTokenFactory(tenant=tenant, revoked=True)
    untouched = ThirdPartyTokenFactory(tenant=tenant)
    response = staff_client.post(
        CHANGELIST,
        {"action": "revoke_selected", "_selected_action": [first.pk, second.pk, already.pk]},
        follow=True,
    )
    assert "Revoked 2 token(s)." in response.content.decode()
    for token in (first, second, untouched):
        token.refresh_from_db()
    assert first.revoked_at and second.revoked_at and untouched.revoked_at is None
    events = AuditEvent.objects.filter(action="token.revoked")
    assert {e.actor_label for e in events} == {"support (staff)"}
    assert {e.target_id for e in events} == {str(first.pk), str(second.pk)}


def test_view_only_staff_cannot_revoke_tokens(view_only_staff_client, tenant):
    token = ThirdPartyTokenFactory(tenant=tenant)
    listing = view_only_staff_client.get(CHANGELIST)
    assert listing.status_code == 200 and token.token_id in listing.text
    assert "revoke_selected" not in listing.text
    view_only_staff_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(action="token.revoked").exists()

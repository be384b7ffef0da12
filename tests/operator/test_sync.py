"""`manage.py sync_tenants FILE.json`: the same upserts from a file, all or nothing."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accessgov.audit.models import AuditEvent
from accessgov.core.models import OutgoingMail
from accessgov.operator.models import Invitation
from tenants.models import Organization, Tenant
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operator" / "tenants.json"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def sync(*args, stdout=None):
    out, err = stdout or io.StringIO(), io.StringIO()
    call_command("sync_tenants", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_example_file_syncs_and_a_second_run_changes_nothing(caplog):
    caplog.set_level("INFO", logger="accessgov.ops")
    out, _ = sync(str(EXAMPLE))
    err = caplog.records[-1].getMessage()
    assert Tenant.objects.filter(external_id__startswith="cust-").count() == 3
    assert Organization.objects.filter(tenant__external_id__startswith="cust-").count() == 5
    assert not Tenant.objects.get(external_id="cust-1003").is_active
    assert Invitation.objects.get().email == "it@northwind.example"
    assert "Synced tenants: 3 created; organizations: 5 created; members: 1 invited." in out
    assert err.startswith("sync_tenants finished changed=9 tenants_created=3")
    events = AuditEvent.objects.count()
    assert {e.actor_label for e in AuditEvent.objects.all()} == {"manage.py sync_tenants (tenants.json)"}
    out, _ = sync(str(EXAMPLE))
    err = caplog.records[-1].getMessage()
    assert out == ""  # quiet under cron when nothing changed
    assert "changed=0" in err and "tenants_unchanged=3" in err
    assert AuditEvent.objects.count() == events and OutgoingMail.objects.count() == 1


def test_a_dry_run_prints_what_would_change_and_changes_nothing():
    TenantFactory(name="Northwind", slug="nw", external_id="cust-1001")
    out, _ = sync(str(EXAMPLE), "--dry-run")
    assert "Would be updated: tenant cust-1001 “Northwind Traders”" in out
    assert "Would be created: organization site-1 “Tailspin Studio” of cust-1002" in out
    assert "Would be invited: member it@northwind.example (administrator) of cust-1001" in out
    assert out.strip().endswith(
        "Dry run, nothing changed. Would apply: tenants: 2 created, 1 updated; "
        "organizations: 5 created; members: 1 invited."
    )
    assert Tenant.objects.count() == 1 and Tenant.objects.get().name == "Northwind"
    assert (
        not Organization.objects.exists()
        and not Invitation.objects.exists()
        and not OutgoingMail.objects.exists()
    )
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Not JSON"),
        ({"tenant": []}, "unknown field 'tenant'"),
        ({"tenants": [{"external_id": "a", "name": "A"}, {"name": "B"}]}, "tenants[1]: external_id must be"),
        (
            {
                "tenants": [
                    {"external_id": "a", "name": "A"},
                    {"external_id": "b", "name": "B", "organizations": [{"external_id": "o"}]},
                ]
            },
            "tenants[1] (external_id b): organizations[0]: name must be",
        ),
        (
            {"tenants": [{"external_id": "a", "name": "A"}, {"external_id": "a", "name": "A"}]},
            "appears twice",
        ),
        ({"tenants": [{"external_id": "a", "name": "A", "active": "no"}]}, "active must be true or false"),
        # Refused by the workflow, after the first tenant was already upserted in the transaction.
        (
            {
                "tenants": [
                    {"external_id": "a", "name": "A"},
                    {"external_id": "b", "name": "B", "slug": "B B"},
                ]
            },
            "tenants[1] (external_id b): Slug must be",
        ),
        (
            {
                "tenants": [
                    {"external_id": "a", "name": "A", "members": [{"email": "x@example.com", "role": "boss"}]}
                ]
            },
            "tenants[0] (external_id a): members[0]: Role must be one of",
        ),
    ],
)
def test_a_malformed_file_changes_nothing_and_names_the_first_bad_record(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(CommandError) as error:
        sync(str(path))
    assert message in str(error.value) and "Nothing was changed." in str(error.value)
    assert (
        not Tenant.objects.exists() and not AuditEvent.objects.exists() and not OutgoingMail.objects.exists()
    )


def test_a_terminal_gets_a_progress_line_per_hundred_tenants(tmp_path):
    path = tmp_path / "many.json"
    path.write_text(
        json.dumps({"tenants": [{"external_id": f"t-{n}", "name": f"Tenant {n}"} for n in range(250)]})
    )
    out, _ = sync(str(path), stdout=Terminal())
    lines = out.splitlines()
    assert [line for line in lines if line.endswith("tenants")] == ["100/250 tenants", "200/250 tenants"]
    assert lines[-1] == "Synced tenants: 250 created."
    assert Tenant.objects.count() == 250


def test_the_file_shown_in_docs_operator_md_is_valid():
    from accessgov.operator.sync import read_sync_file

    docs = (Path(__file__).resolve().parents[2] / "docs" / "operator.md").read_text()
    example = docs.split("```json\n", 1)[1].split("```", 1)[0]
    [record] = read_sync_file(example)
    assert record.spec.external_id == "cust-1001" and record.members == (
        ("it@northwind.example", "administrator"),
    )

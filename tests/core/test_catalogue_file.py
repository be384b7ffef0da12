"""The platform's endpoint catalogue file: what it can say, and every way it can be wrong."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accessgov.core import catalogue
from accessgov.core.catalogue import Catalogue, Window, parse_window
from accessgov.core.catalogue.loading import CatalogueError, read_catalogue

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalogue" / "rmm.toml"
OWN = frozenset(p.name for p in catalogue.OWN_PERMISSIONS)


def _read(text: str):
    return read_catalogue(text, source="c.toml", own_permissions=OWN)


def _problems(text: str) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        _read(text)
    return caught.value.problems


PERMISSION = """
[[permission]]
name = "Devices.Read"
group = "Devices"
label = "Read devices"
"""


def test_the_shipped_example_describes_a_realistic_rmm_api():
    platform = read_catalogue(EXAMPLE.read_text(), source=str(EXAMPLE), own_permissions=OWN)
    assert platform.service == "Example RMM API"
    assert 28 <= len(platform.endpoints) <= 40
    groups = {p.group for p in platform.permissions}
    assert {"Devices", "Assets", "Alerts", "Scripts", "Group packages", "Notify"} <= groups
    by_key = {e.key: e for e in platform.endpoints}
    # The VSA 10 guide's shapes: most endpoints 3,600 an hour, Get Assets and Get a Group Package
    # 60 an hour, Notify five windows at once.
    assert by_key["GET /v1/devices/{DeviceId}"].windows == (Window(3600, 3600),)
    assert by_key["GET /v1/assets"].windows == (Window(60, 3600),)
    assert by_key["GET /v1/group-packages/{PackageId}"].windows == (Window(60, 3600),)
    assert by_key["POST /v1/notify"].windows == (
        Window(10, 5),
        Window(50, 60),
        Window(200, 300),
        Window(500, 3600),
        Window(2000, 86400),
    )
    assert {str(e.organization) for e in platform.endpoints if e.organization} >= {
        "query:OrganizationId",
        "path:OrganizationId",
        "header:X-Organization-Id",
    }


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("3600/1h", Window(3600, 3600)),
        ("10/5s", Window(10, 5)),
        ("50/minute", Window(50, 60)),
        ("2000/1d", Window(2000, 86400)),
    ],
)
def test_windows_are_written_as_requests_per_period(text, window):
    assert parse_window(text) == window


@pytest.mark.parametrize("text", ["0/1h", "10/0s", "10/32d", "ten/1h", "10 per hour", "10/1y"])
def test_a_bad_window_is_refused_with_the_reason(text):
    with pytest.raises(ValueError, match=text.split("/")[0] if "/" in text else "window"):
        parse_window(text)


def test_every_problem_is_named_with_its_line():
    text = (
        "[catalogue]\nservice = 'X'\n"
        + PERMISSION
        + """
[[permission]]
name = "Me.Read"
group = "Mine"
label = "Clash"

[[endpoint]]
method = "GET"
path = "/v1/devices/{Id}"
permission = "Devices.Read"

[[endpoint]]
method = "GET"
path = "/v1/devices/{DeviceId}"
permission = "Devices.Read"

[[endpoint]]
method = "GET"
path = "/v1/things"
permission = "Things.Read"

[[endpoint]]
method = "GET"
path = "/v1/a{b}"
permission = "Devices.Read"

[[endpoint]]
method = "POST"
path = "/v1/x"
permission = "Devices.Read"
limits = ["5/0s"]
organization = "path:OrganizationId"
colour = "blue"
"""
    )
    problems = _problems(text)
    joined = "\n".join(problems)
    assert "line 9: permission Me.Read: Me.Read is one of accessgov's own permissions" in joined
    assert "line 19: endpoint GET /v1/devices/{DeviceId}: duplicate route" in joined and "line 14" in joined
    assert "line 24: endpoint GET /v1/things: unknown permission 'Things.Read'" in joined
    assert "line 29: endpoint GET /v1/a{b}: the path template can never match" in joined
    assert "line 34: endpoint POST /v1/x: unknown key “colour”" in joined
    assert "line 34: endpoint POST /v1/x: “5/0s” has a period outside" in joined


@pytest.mark.parametrize(
    "path",
    [
        "v1/devices",
        "/v1//devices",
        "/v1/devices/",
        "/v1/./devices",
        "/v1/../x",
        "/v1/devices?x=1",
        "/v1/a%2Fb",
        "/v1/{Id}/{Id}",
    ],
)
def test_a_template_that_can_never_match_is_refused(path):
    text = PERMISSION + f'\n[[endpoint]]\nmethod = "GET"\npath = "{path}"\npermission = "Devices.Read"\n'
    problem = _problems(text)[0]  # then: the permission is needed by no endpoint
    assert "path" in problem and "line 7" in problem


def test_an_organization_in_a_path_parameter_the_template_lacks_is_refused():
    text = (
        PERMISSION
        + '\n[[endpoint]]\nmethod = "GET"\npath = "/v1/devices"\npermission = "Devices.Read"\norganization = "path:OrganizationId"\n'
    )
    problem = _problems(text)[0]
    assert "organization names the path parameter OrganizationId, which the path lacks" in problem


def test_head_and_unknown_methods_are_refused_and_a_permission_nobody_needs_too():
    text = PERMISSION + '\n[[endpoint]]\nmethod = "HEAD"\npath = "/v1/devices"\npermission = "Devices.Read"\n'
    problems = _problems(text)
    assert any("HEAD is judged as GET" in p for p in problems)
    assert any("permission Devices.Read is needed by no endpoint" in p for p in problems)


def test_toml_that_does_not_parse_says_where():
    [problem] = _problems("[catalogue\nservice = 1")
    assert "not valid TOML" in problem and "line 1" in problem


def test_routes_match_by_segment_literal_first_and_head_as_get():
    text = (
        PERMISSION
        + '\n[[endpoint]]\nmethod = "GET"\npath = "/v1/devices/{DeviceId}"\npermission = "Devices.Read"\n'
        + '\n[[endpoint]]\nmethod = "GET"\npath = "/v1/devices/export"\npermission = "Devices.Read"\n'
    )
    current = Catalogue(_read(text))
    assert current.match("GET", ["v1", "devices", "export"]).endpoint.path == "/v1/devices/export"
    found = current.match("HEAD", ["v1", "devices", "42"])
    assert found.endpoint.path == "/v1/devices/{DeviceId}" and found.parameters == {"DeviceId": "42"}
    assert current.match("POST", ["v1", "devices", "42"]) is None
    assert current.match("GET", ["v1", "devices"]) is None


def test_check_catalogue_lists_the_endpoints_or_every_problem(tmp_path, capsys):
    call_command("check_catalogue", str(EXAMPLE))
    assert "Example RMM API, 31 endpoints" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(PERMISSION)
    with pytest.raises(CommandError, match="needed by no endpoint"):
        call_command("check_catalogue", str(bad))


def test_the_server_refuses_to_start_on_an_invalid_catalogue(tmp_path, settings):
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    bad = tmp_path / "bad.toml"
    bad.write_text("[[endpoint]]\nmethod = 'GET'\n")
    settings.ACCESSGOV_CATALOGUE = str(bad)
    try:
        with pytest.raises(ImproperlyConfigured, match="bad.toml"):
            apps.get_app_config("accessgov").ready()
    finally:
        settings.ACCESSGOV_CATALOGUE = ""
        catalogue.load()


def test_a_platform_catalogue_joins_accessgovs_own_in_one_list_of_permissions():
    current = Catalogue(read_catalogue(EXAMPLE.read_text(), source="rmm", own_permissions=OWN))
    assert {"Me.Read", "Devices.Read", "Notifications.Send"} <= current.permissions
    services = list(current.grouped())
    assert services == ["accessgov", "Example RMM API"]
    assert (
        "Devices.Write" not in current.read_only_permissions
        and "Devices.Read" in current.read_only_permissions
    )
    assert current.label_of("Gone.Read") == "Gone.Read"

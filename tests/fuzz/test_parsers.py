"""Hypothesis on every parser that reads what a stranger types or sends.

Each parser may refuse input only with its own documented error (InvalidDomain, InvalidUrl,
ValidationError, ODataError, CredentialError, or None from parse_secret); anything else would be a
500 on the console or the API. The deadline turns a hang (catastrophic backtracking, a recursion
the parser does not bound) into a failure. Normalisers are idempotent, and an approved domain
allows only itself, or strict subdomains for a wildcard entry.
"""

import base64
import ipaddress
import string
from datetime import timedelta

import pytest
from django import forms
from django.db import transaction
from django.http import QueryDict
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from accessgov.api import odata
from accessgov.api.authorization import MAX_AUTHORIZATION_LENGTH, CredentialError, parse_authorization
from accessgov.core import keys
from accessgov.core.clientip import parse_address as parse_client_ip
from tenants.models import Organization
from tests.conftest import basic_auth
from tokens.forms import IPV4_MAPPED, format_allowlist, parse_allowlist
from tokens.models import ThirdPartyToken
from webhooks.destinations import InvalidUrl, parse_destination_url
from webhooks.domains import (
    InvalidDomain,
    host_matches,
    matching_domain,
    normalise_host,
    parse_domain,
    to_a_label,
)

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)

# Text with the characters that matter to these parsers over-represented: separators, look-alikes
# (Cyrillic а, fullwidth dot, ß, dotless ı), control characters and percent signs.
TRICKY = "./:@\\#?%[]*-_ \t\r\n\x00\x7f\u2028аеοß\u0131\uff0e\u3002\u200b\u00a0xn--"
tricky_text = st.text(
    alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(), st.sampled_from(string.ascii_letters)),
    max_size=80,
)

# --- webhook domains ---------------------------------------------------------------------------

LABEL = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=10)
HOSTISH = st.builds(
    lambda labels, tail: ".".join(labels + [tail]),
    st.lists(
        st.one_of(LABEL, st.sampled_from(["example", "EXAMPLE", "exаmple", "faß", "xn--e1a", "*"])),
        max_size=4,
    ),
    st.sampled_from(["com", "com.", "co.uk", "github.io", "de", "internal", "1", "0x7f", "example.com", ""]),
)
domain_input = st.one_of(
    tricky_text,
    HOSTISH,
    st.builds(lambda h: "*." + h, HOSTISH),
    st.builds(lambda h, rest: "https://" + h + rest, HOSTISH, tricky_text),
)


@FUZZ
@given(raw=domain_input)
@example(raw="EXAMPLE.COM.")
@example(raw="*.Bücher.de")
@example(raw="https://example.com:443/x")
@example(raw="HTTPS://[")
@example(raw="0.al\u3002")
@example(raw="0.al.\u200b")
@example(raw="0.al..")
def test_parse_domain_refuses_only_with_invalid_domain_and_is_idempotent(raw):
    try:
        entry = parse_domain(raw)
    except InvalidDomain:
        return
    base = entry.domain.removeprefix("*.")
    assert base.isascii() and base == base.lower() and "." in base and not base.endswith(".")
    assert parse_domain(entry.domain) == entry.__class__(entry.domain, entry.unicode)
    # The Unicode form people read parses back to the same A-label.
    assert parse_domain(entry.unicode).domain == entry.domain


@FUZZ
@given(raw=domain_input)
def test_normalise_host_and_to_a_label_are_idempotent(raw):
    try:
        a_label = to_a_label(raw)
    except InvalidDomain:
        pass
    else:
        assert to_a_label(a_label) == a_label
    try:
        host = normalise_host(raw)
    except InvalidDomain:
        return
    assert normalise_host(host) == host
    assert "*" not in host


def _labels(host: str) -> list[str]:
    return host.split(".")


@FUZZ
@given(raw=domain_input)
@example(raw="evil-example.com")
@example(raw="example.com.evil.net")
@example(raw="xexample.com")
@example(raw="EXAMPLE.com.")
@example(raw="a.b.example.com")
@example(raw="еxample.com")
def test_example_com_allows_only_itself_and_its_wildcard_only_strict_subdomains(raw):
    """Attack catalogue case 22: look-alike hosts never match."""
    try:
        host = normalise_host(raw)
    except InvalidDomain:
        return
    labels = _labels(host)
    if host_matches(host, "example.com"):
        assert host == "example.com"
    if host_matches(host, "*.example.com"):
        assert labels[-2:] == ["example", "com"] and len(labels) > 2 and all(labels)
    chosen = matching_domain(host, ["*.example.com", "example.com"])
    assert chosen is None or host == "example.com" or labels[-2:] == ["example", "com"]


@FUZZ
@given(prefix=st.text(max_size=12), suffix=st.text(max_size=12))
def test_no_text_around_example_com_matches_unless_it_is_a_whole_label_subdomain(prefix, suffix):
    try:
        host = normalise_host(prefix + "example.com" + suffix)
    except InvalidDomain:
        return
    if host_matches(host, "example.com"):
        assert host == "example.com"
    if host_matches(host, "*.example.com"):
        assert host.endswith(".example.com") and _labels(host)[-3]


# --- webhook destination URLs ----------------------------------------------------------------

url_input = st.one_of(
    tricky_text,
    st.builds(
        lambda scheme, userinfo, host, port, path: f"{scheme}{userinfo}{host}{port}{path}",
        st.sampled_from(
            ["https://", "HTTPS://", "http://", "https:/", "https:\\\\", "ftp://", "javascript:", ""]
        ),
        st.sampled_from(["", "u@", "u:p@", "example.com@", "evil.com\\@"]),
        st.one_of(
            HOSTISH, st.sampled_from(["hooks.example.com", "[::1]", "127.1", "2130706433", "0x7f.0.0.1"])
        ),
        st.sampled_from(["", ":443", ":8443", ":0", ":65536", ":", ":+443", ": 443", ":٤٤٣"]),
        st.one_of(
            st.just(""), st.builds(lambda p: "/" + p, tricky_text), st.builds(lambda p: "?" + p, tricky_text)
        ),
    ),
)


@FUZZ
@given(raw=url_input, any_port=st.booleans())
@example(raw="https://example.com@evil.com/", any_port=False)
@example(raw="https://evil.com\\@example.com/", any_port=False)
@example(raw="https://evil.com#@example.com/", any_port=False)
@example(raw="https://hooks.example.com:٤٤٣/", any_port=True)
def test_destination_urls_refuse_only_with_invalid_url_and_rebuild_to_a_fixed_point(raw, any_port):
    """Attack catalogue case 24: userinfo, backslashes and control characters are refused."""
    try:
        parsed = parse_destination_url(raw, allow_any_port=any_port)
    except InvalidUrl:
        return
    assert parsed.url.startswith(f"https://{parsed.host}")
    assert parsed.host == normalise_host(parsed.host)
    assert any_port or parsed.port == 443
    assert "@" not in parsed.url.split("/")[2] and "#" not in parsed.url and "\\" not in parsed.url
    assert parse_destination_url(parsed.url, allow_any_port=any_port) == parsed


# --- the token IP allowlist --------------------------------------------------------------------


@st.composite
def network_lines(draw):
    address = draw(st.ip_addresses())
    style = draw(st.sampled_from(["plain", "prefix", "hostbits", "padded", "upper"]))
    maximum = address.max_prefixlen
    if style == "plain":
        return str(address)
    if style == "hostbits":
        return f"{address}/{draw(st.integers(0, maximum))}"
    if style == "padded":
        return f"  {address}/{maximum}\t"
    network = ipaddress.ip_network(f"{address}/{draw(st.integers(0, maximum))}", strict=False)
    return str(network).upper() if style == "upper" else str(network)


allowlist_input = st.one_of(
    tricky_text,
    st.lists(st.one_of(network_lines(), tricky_text), max_size=8).map("\n".join),
    st.lists(network_lines(), max_size=120).map("\r\n".join),
)


@FUZZ
@given(text=allowlist_input)
@example(text="10.0.0.1/24")
@example(text="010.0.0.0/8")
@example(text="0.0.0.0/0\n::/0")
@example(text="fe80::1%eth0")
@example(text="::ffff:192.0.2.5")
@example(text="192.0.2.0/24\n192.0.2.0/24")
def test_the_allowlist_refuses_only_with_validation_error_and_normalises_to_a_fixed_point(text):
    try:
        networks = parse_allowlist(text)
    except forms.ValidationError:
        return
    assert len(networks) == len(set(networks)) <= 100
    for value in networks:
        network = ipaddress.ip_network(value, strict=True)
        assert str(network) == value and network.prefixlen > 0
        assert not (network.version == 6 and network.subnet_of(IPV4_MAPPED))
    assert parse_allowlist("\n".join(networks)) == networks
    assert parse_allowlist(format_allowlist(networks)) == networks


@FUZZ
@given(
    client_ip=st.one_of(tricky_text, st.ip_addresses().map(str)), lines=st.lists(network_lines(), max_size=4)
)
@example(client_ip="::ffff:192.0.2.5", lines=["192.0.2.0/24"])
@example(client_ip="fe80::1%eth0", lines=["fe80::/64"])
def test_a_token_decides_any_client_ip_without_raising(client_ip, lines):
    try:
        networks = parse_allowlist("\n".join(lines))
    except forms.ValidationError:
        return
    decision = ThirdPartyToken(allowed_ips=networks).allows_ip(client_ip)
    assert isinstance(decision, bool)
    address = parse_client_ip(client_ip)
    if address is None:
        assert decision is (not networks)
    else:
        assert decision is (not networks or any(address in ipaddress.ip_network(n) for n in networks))


@FUZZ
@given(address=st.ip_addresses(v=4), prefix=st.integers(1, 32))
def test_an_ipv4_mapped_client_gets_the_ipv4_decision(address, prefix):
    """Attack catalogue case 17: an address outside the allowlist is refused."""
    network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    token = ThirdPartyToken(allowed_ips=parse_allowlist(network))
    mapped = f"::ffff:{address}"
    assert token.allows_ip(mapped) is token.allows_ip(str(address)) is True
    after = int(ipaddress.ip_network(network).broadcast_address) + 1
    if after < 2**32:
        outside = ipaddress.IPv4Address(after)
        assert token.allows_ip(f"::ffff:{outside}") is token.allows_ip(str(outside)) is False


# --- OData ---------------------------------------------------------------------------------------

FIELDS = {"Id": "id", "Name": "name", "CreatedAt": "created_at"}
field_name = st.sampled_from(["Id", "Name", "CreatedAt", "Tenant", "tenant_id", "Name/Length", "Id/x", "pk"])
literal = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=12).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.sampled_from(
        [
            "null",
            "true",
            "false",
            "2024-01-01",
            "2024-02-30",
            "2024-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1.5",
            "1e308",
            "-0",
            "duration'P1D'",
            "00000000-0000-0000-0000-000000000000",
            "INF",
            "NaN",
            "'",
        ]
    ),
)
comparison = st.builds(
    lambda f, op, v, flip: f"{v} {op} {f}" if flip else f"{f} {op} {v}",
    field_name,
    st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "has", "in", "add"]),
    literal,
    st.booleans(),
)
call = st.builds(
    lambda fn, f, v: f"{fn}({f}, {v})",
    st.sampled_from(
        ["contains", "startswith", "endswith", "tolower", "length", "substringof", "matchesPattern"]
    ),
    field_name,
    literal,
)
filter_expression = st.recursive(
    st.one_of(comparison, call),
    lambda inner: st.one_of(
        st.builds(lambda a, b, op: f"{a} {op} {b}", inner, inner, st.sampled_from(["and", "or"])),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"({a})", inner),
    ),
    max_leaves=6,
)
filter_input = st.one_of(
    filter_expression, tricky_text, st.text(alphabet="()'Id eqandornt 0123", max_size=60)
)
orderby_input = st.one_of(
    tricky_text,
    st.lists(
        st.builds(
            lambda f, d: f"{f}{d}", field_name, st.sampled_from(["", " asc", " DESC", " up", "  desc extra"])
        ),
        max_size=4,
    ).map(",".join),
)


@FUZZ
@given(raw=filter_input)
@example(raw="Name eq 'x' and Id gt 99999999999999999999")
@example(raw="(" * 300 + "Id eq 1" + ")" * 300)
@example(raw="null eq Id")
def test_parse_filter_refuses_only_with_odata_error(raw):
    try:
        condition = odata.parse_filter(raw, FIELDS, Organization)
    except odata.ODataError:
        return
    assert condition is not None


@FUZZ
@given(raw=orderby_input)
def test_parse_orderby_refuses_only_with_odata_error_and_orders_by_allowed_fields(raw):
    try:
        ordering = odata.parse_orderby(raw, FIELDS)
    except odata.ODataError:
        return
    assert ordering and all(item.lstrip("-") in FIELDS.values() for item in ordering)


@pytest.mark.django_db
@settings(FUZZ, max_examples=120)
@given(
    filter_=st.one_of(st.none(), filter_input),
    orderby=st.one_of(st.none(), orderby_input),
    top=st.one_of(
        st.none(), st.sampled_from(["0", "1", "500", "501", "-1", "1e3", "²", "0x10", " 1"]), tricky_text
    ),
    skip=st.one_of(st.none(), st.sampled_from(["0", "10000000", "10000001", "99999999999999999999"])),
    count=st.one_of(st.none(), st.sampled_from(["true", "FALSE", "yes", ""])),
    extra=st.one_of(st.none(), st.sampled_from(["$expand", "$select", "$search", "api_key"])),
)
def test_apply_refuses_only_with_odata_error_and_the_query_then_runs(
    filter_, orderby, top, skip, count, extra
):
    if not Organization.objects.exists():
        from tests.factories import OrganizationFactory

        OrganizationFactory(name="Contoso")
    params = QueryDict(mutable=True)
    for name, value in [
        ("$filter", filter_),
        ("$orderby", orderby),
        ("$top", top),
        ("$skip", skip),
        ("$count", count),
        (extra, "1"),
    ]:
        if name is not None and value is not None:
            params[name] = value
    try:
        query = odata.apply(Organization.objects.all(), params, FIELDS, ["name"])
    except odata.ODataError:
        return
    assert 0 <= query.top <= odata.MAX_TOP and 0 <= query.skip <= odata.MAX_SKIP
    # The database must accept what the parser let through (a savepoint keeps PostgreSQL usable).
    with transaction.atomic():
        list(query.queryset[query.skip : query.skip + query.top])
        query.queryset.count()  # every list answer carries TotalCount


# --- the Authorization header and secrets ------------------------------------------------------

credential_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
header_input = st.one_of(
    tricky_text,
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.sampled_from(["Basic ", "basic ", "BASIC  ", "Bearer ", "bearer ", "Digest ", "Basic", ""]),
        tricky_text,
    ),
    st.builds(
        lambda user, secret, pad: basic_auth(user, secret) + pad,
        credential_text,
        credential_text,
        st.sampled_from(["", " ", "=", "\n", "\x00"]),
    ),
    st.builds(lambda data: "Basic " + base64.b64encode(data).decode(), st.binary(max_size=60)),
    st.builds(
        lambda prefix, body: "Bearer " + prefix + body,
        st.sampled_from([keys.API_KEY_PREFIX, "agat_", keys.TOKEN_SECRET_PREFIX]),
        st.text(alphabet=keys.BASE62, min_size=55, max_size=65),
    ),
    st.builds(
        lambda n: "Basic " + "A" * n, st.integers(MAX_AUTHORIZATION_LENGTH - 8, MAX_AUTHORIZATION_LENGTH + 8)
    ),
)


@FUZZ
@given(header=header_input)
@example(header="Basic " + "A" * 2_000_000)
@example(header="Basic Og==")  # ":"
@example(header="Basic /w==")  # not UTF-8
def test_parse_authorization_refuses_only_with_credential_error(header):
    try:
        presented = parse_authorization(header)
    except CredentialError as error:
        assert error.status in {400, 401}
        assert error.status == 400 or len(header) <= MAX_AUTHORIZATION_LENGTH
        return
    assert len(header) <= MAX_AUTHORIZATION_LENGTH
    assert presented.kind in {"token", "api_key", "oauth"} and presented.identifier and presented.secret


@FUZZ
@given(user=credential_text, secret=credential_text)
def test_basic_credentials_come_back_exactly_as_sent(user, secret):
    """Attack catalogue case 3: a secret is never normalised."""
    assume(user and ":" not in user and secret)
    header = basic_auth(user, secret)
    assume(len(header) <= MAX_AUTHORIZATION_LENGTH)
    presented = parse_authorization(header)
    # No stripping, case folding or Unicode normalisation (attack catalogue case 3).
    assert (presented.kind, presented.identifier, presented.secret) == ("token", user, secret)


@FUZZ
@given(
    value=st.one_of(tricky_text, st.text(alphabet=keys.BASE62 + "_ag", min_size=50, max_size=70)),
    prefix=st.sampled_from([keys.API_KEY_PREFIX, keys.TOKEN_SECRET_PREFIX, "agat_"]),
)
def test_parse_secret_answers_none_or_a_well_formed_secret(value, prefix):
    parsed = keys.parse_secret(value, prefix)
    if parsed is not None:
        assert parsed.secret == value and value.startswith(prefix)
        assert len(parsed.lookup_id) == keys.LOOKUP_ID_LENGTH


@FUZZ
@given(
    prefix=st.sampled_from([keys.API_KEY_PREFIX, keys.TOKEN_SECRET_PREFIX]),
    random_part=st.text(
        alphabet=keys.BASE62,
        min_size=keys.LOOKUP_ID_LENGTH + keys.RANDOM_LENGTH,
        max_size=keys.LOOKUP_ID_LENGTH + keys.RANDOM_LENGTH,
    ),
    data=st.data(),
)
def test_any_one_character_change_to_a_well_formed_secret_is_refused(prefix, random_part, data):
    secret = prefix + random_part + keys.checksum(prefix + random_part)
    assert keys.parse_secret(secret, prefix).lookup_id == random_part[: keys.LOOKUP_ID_LENGTH]
    position = data.draw(st.integers(0, len(secret) - 1))
    replacement = data.draw(st.characters(exclude_characters=secret[position], exclude_categories=["Cs"]))
    mutated = secret[:position] + replacement + secret[position + 1 :]
    # CRC32 catches every single-character change (a burst of at most 8 bits in the body).
    assert keys.parse_secret(mutated, prefix) is None
    tail = data.draw(st.sampled_from([" ", "\n", "\r\n", "\u00a0", "\u200b", "\t"]))
    assert keys.parse_secret(secret + tail, prefix) is None

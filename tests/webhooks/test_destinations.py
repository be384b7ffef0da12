"""Destination URLs: one parser, rebuilt from validated parts (attack catalogue cases 24, 26, 27)."""

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhooks.destinations import InvalidUrl, parse_destination_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("HTTPS://Hooks.Example.COM/in", "https://hooks.example.com/in"),
        ("https://hooks.example.com", "https://hooks.example.com/"),
        ("https://hooks.example.com:443/a?b=c&d=%20", "https://hooks.example.com/a?b=c&d=%20"),
        ("https://hooks.example.com?x=1", "https://hooks.example.com/?x=1"),
        ("https://bücher.de/in", "https://xn--bcher-kva.de/in"),
        ("https://hooks.example.com./in", "https://hooks.example.com/in"),
        ("  https://hooks.example.com/in  ", "https://hooks.example.com/in"),
    ],
)
def test_a_good_url_is_rebuilt_in_canonical_form(raw, expected):
    assert parse_destination_url(raw).url == expected


@pytest.mark.parametrize(
    "raw",
    [
        "https://example.com@evil.com/",
        "https://evil.com\\@example.com/",
        "https://evil.com#@example.com/",
        "https://exa\tmple.com/",
        "https://example.com/\r\nX-Injected: 1",
        "https://example.com/a\nb",
        "\thttps://example.com/",
        "https://user:pass@example.com/",
    ],
)
def test_case_24_userinfo_backslashes_fragments_and_control_characters_are_rejected(raw):
    with pytest.raises(InvalidUrl):
        parse_destination_url(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "http://hooks.example.com/",
        "http:hooks.example.com",
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "gopher://hooks.example.com:70/",
        "javascript:alert(1)",
        "https:/hooks.example.com/",
        "hooks.example.com/in",
        "//hooks.example.com/in",
    ],
)
def test_case_26_schemes_other_than_https_are_rejected(raw):
    with pytest.raises(InvalidUrl, match="https://"):
        parse_destination_url(raw)


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "169.254.169.254",
        "metadata.google.internal",
        "100.64.0.1",
        "10.0.0.1",
        "[fd00::1]",
        "localhost",
    ],
)
def test_case_27_internal_hosts_are_refused_when_saving(host):
    with pytest.raises(InvalidUrl):
        parse_destination_url(f"https://{host}/hook")


def test_ports_other_than_443_are_refused_unless_the_loopback_test_setting_allows_them():
    with pytest.raises(InvalidUrl, match="port 443"):
        parse_destination_url("https://hooks.example.com:8443/")
    assert parse_destination_url("https://hooks.example.com:8443/", allow_any_port=True).port == 8443
    with pytest.raises(InvalidUrl, match="invalid port"):
        parse_destination_url("https://hooks.example.com:99999/", allow_any_port=True)


@pytest.mark.parametrize(
    "raw", ["https://hooks.example.com/a<b", "https://hooks.example.com/ü", "https://hooks.example.com/%zz"]
)
def test_paths_must_be_percent_encoded(raw):
    with pytest.raises(InvalidUrl, match="percent-encoded"):
        parse_destination_url(raw)


def test_urls_over_the_length_limit_are_refused():
    with pytest.raises(InvalidUrl, match="at most 1000"):
        parse_destination_url("https://hooks.example.com/" + "a" * 1000)


PATH_CHARS = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(path=PATH_CHARS, userinfo=st.booleans())
def test_an_accepted_url_reads_the_same_to_the_standard_library(path, userinfo):
    raw = "https://" + ("x@" if userinfo else "") + "hooks.example.com/" + path
    try:
        parsed = parse_destination_url(raw)
    except InvalidUrl:
        return
    split = urlsplit(parsed.url)
    assert split.hostname == "hooks.example.com" == parsed.host
    assert split.username is None and split.port is None and split.fragment == ""
    assert parse_destination_url(parsed.url) == parsed


@given(raw=st.text(max_size=60))
def test_any_text_is_either_refused_or_an_https_url_on_a_name(raw):
    try:
        parsed = parse_destination_url(raw)
    except InvalidUrl:
        return
    assert parsed.url.startswith("https://")
    assert (
        not any(char in parsed.url for char in "\\\t\r\n @#"[:-2]) or "@" not in urlsplit(parsed.url).netloc
    )

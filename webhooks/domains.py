"""Normalise, validate and match webhook host names: pure functions, no database, no network.

Every host is compared as its IDNA2008 A-label, mapped with UTS #46 (non-transitional), so
``faß.de`` and ``fass.de`` are two different names and a Cyrillic ``аpple.com`` never equals
``apple.com`` (attack catalogue case 25). Public suffixes come from the Public Suffix List that
the ``publicsuffixlist`` wheel ships; nothing is downloaded at run time.
"""

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME_LENGTH = 253  # RFC 1035, without the root dot
MAX_INPUT_LENGTH = 2000
WILDCARD_PREFIX = "*."
# Infrastructure zones that are listed in the PSL but never host a webhook receiver.
REFUSED_TOP_LEVEL = frozenset({"arpa"})
# Anything the WHATWG URL parser would read as an IPv4 number: 127.1, 2130706433, 0x7f.0.0.1.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


class InvalidDomain(ValueError):
    """A domain or host that cannot be used; the message says why, in the user's words."""


@dataclass(frozen=True)
class DomainEntry:
    """One approved-domain entry, normalised."""

    domain: str  # the A-label form, with a leading "*." for a wildcard entry
    unicode: str  # the same name as people read it
    taken_from_url: bool = False

    @property
    def is_wildcard(self) -> bool:
        return self.domain.startswith(WILDCARD_PREFIX)


@cache
def _all_suffixes() -> PublicSuffixList:
    # ICANN and private sections: github.io and blogspot.com are public suffixes too.
    return PublicSuffixList()


@cache
def _icann_suffixes() -> PublicSuffixList:
    # Used only to ask whether the top-level domain exists at all (accept_unknown=False).
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def _looks_like_ip(name: str) -> bool:
    if ":" in name or name.startswith("["):
        return True
    labels = name.rstrip(".").split(".")
    # The WHATWG URL standard reads a host whose last label is a number as an IPv4 address.
    return bool(labels) and bool(_NUMERIC_LABEL.match(labels[-1]))


def to_a_label(name: str) -> str:
    """Return NAME as a lower-case IDNA2008 A-label, or raise InvalidDomain.

    NAME may be in Unicode or already in A-labels; one trailing dot is dropped.
    """
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise InvalidDomain("Enter a domain name, e.g. hooks.example.com.")
    if _looks_like_ip(name):
        raise InvalidDomain("IP addresses cannot be approved; enter the domain name that hosts the webhook.")
    try:
        a_label = idna.encode(name, uts46=True, std3_rules=True, transitional=False).decode("ascii")
        # Round trip: refuses made-up "xn--" labels that are not valid Punycode.
        idna.decode(a_label)
    except idna.IDNAError as error:
        raise InvalidDomain(f"“{name}” is not a valid domain name ({error}).") from error
    except UnicodeError as error:
        raise InvalidDomain(f"“{name}” is not a valid domain name.") from error
    a_label = a_label.lower()
    if a_label.endswith(".") or ".." in a_label or a_label.startswith("."):
        # UTS #46 maps "。" to "." and drops a zero-width space, so "0.al。" or "0.al.\u200b" would
        # end in a dot only after encoding (tests/fuzz/test_parsers.py found them).
        raise InvalidDomain(f"“{name}” has an empty label; write the domain without extra dots.")
    if len(a_label) > MAX_NAME_LENGTH:
        raise InvalidDomain(f"Domain names are at most {MAX_NAME_LENGTH} characters long.")
    if _looks_like_ip(a_label):
        raise InvalidDomain("IP addresses cannot be approved; enter the domain name that hosts the webhook.")
    return a_label


def to_unicode(a_label: str) -> str:
    """Return the Unicode form of A_LABEL (a wildcard prefix is kept)."""
    prefix = WILDCARD_PREFIX if a_label.startswith(WILDCARD_PREFIX) else ""
    try:
        return prefix + idna.decode(a_label.removeprefix(prefix))
    except (idna.IDNAError, UnicodeError):
        return a_label


def check_registrable(a_label: str) -> None:
    """Raise InvalidDomain unless A_LABEL is a name below a public suffix."""
    if "." not in a_label and _icann_suffixes().publicsuffix(a_label, accept_unknown=False) == a_label:
        raise InvalidDomain(
            f"“{a_label}” is a public suffix shared by unrelated owners; enter a domain you own below it."
        )
    if "." not in a_label:
        raise InvalidDomain(
            f"“{a_label}” is a single label; enter a full domain name such as hooks.example.com."
        )
    top = a_label.rsplit(".", 1)[1]
    if top in REFUSED_TOP_LEVEL or _icann_suffixes().publicsuffix(a_label, accept_unknown=False) is None:
        # .internal, .local, .localhost, .test, .example and made-up TLDs resolve only inside
        # someone's network (metadata.google.internal): never a public webhook receiver.
        raise InvalidDomain(f"“.{top}” is not a public top-level domain.")
    if _all_suffixes().is_public(a_label):
        raise InvalidDomain(
            f"“{a_label}” is a public suffix shared by unrelated owners; enter a domain you own below it."
        )


def normalise_host(raw: str) -> str:
    """Return the A-label of the host name RAW (no wildcard), or raise InvalidDomain."""
    if _CONTROL_OR_SPACE.search(raw):
        raise InvalidDomain("Host names cannot contain spaces or control characters.")
    a_label = to_a_label(raw)
    check_registrable(a_label)
    return a_label


def _host_from_pasted_url(text: str) -> str:
    scheme, _, _ = text.partition("://")
    if scheme.lower() != "https":
        raise InvalidDomain("Webhooks are sent over https only; paste an https:// URL or just the domain.")
    if "\\" in text:
        raise InvalidDomain("That URL contains a backslash; enter just the domain.")
    try:
        parts = urlsplit(text)
    except ValueError as error:  # "https://[": an unclosed IPv6 bracket
        raise InvalidDomain("That URL is not valid; enter just the domain.") from error
    if "@" in parts.netloc:
        raise InvalidDomain("That URL contains a user name or password; enter just the domain.")
    try:
        port = parts.port
    except ValueError as error:
        raise InvalidDomain("That URL has an invalid port; enter just the domain.") from error
    if port is not None and port != 443:
        raise InvalidDomain("Webhooks are sent to port 443 only; enter the domain without a port.")
    if not parts.hostname:
        raise InvalidDomain("That URL has no host name; enter just the domain.")
    return parts.hostname


def parse_domain(raw: str) -> DomainEntry:
    """Return the normalised approved-domain entry RAW, or raise InvalidDomain saying why.

    Accepts ``example.com`` (that host only), ``*.example.com`` (any subdomain, not the domain
    itself) and a pasted https URL, whose host is taken (``taken_from_url`` tells the user so).
    """
    text = raw.strip()
    if not text:
        raise InvalidDomain("Enter a domain name, e.g. hooks.example.com.")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidDomain("That is far too long for a domain name.")
    if _CONTROL_OR_SPACE.search(text):
        raise InvalidDomain("Domain names cannot contain spaces or control characters.")
    taken_from_url = "://" in text
    if taken_from_url:
        text = _host_from_pasted_url(text)
    elif "@" in text:
        raise InvalidDomain("Enter just the domain, without a user name (nothing before an “@”).")
    elif text.startswith("[") or text.count(":") > 1:
        raise InvalidDomain("IP addresses cannot be approved; enter the domain name that hosts the webhook.")
    elif ":" in text:
        raise InvalidDomain("Enter the domain without a port; webhooks are sent to port 443 only.")
    elif "/" in text or "\\" in text or "?" in text or "#" in text:
        raise InvalidDomain("Enter just the domain, without a path (nothing after a “/”).")
    wildcard = text.startswith(WILDCARD_PREFIX)
    base = text[len(WILDCARD_PREFIX) :] if wildcard else text
    if "*" in base:
        raise InvalidDomain("A “*” may only stand at the start, as in *.example.com.")
    a_label = to_a_label(base)
    check_registrable(a_label)
    domain = WILDCARD_PREFIX + a_label if wildcard else a_label
    return DomainEntry(domain=domain, unicode=to_unicode(domain), taken_from_url=taken_from_url)


def host_matches(host: str, domain: str) -> bool:
    """Return whether the normalised HOST is allowed by the approved entry DOMAIN.

    An exact entry matches that host only; ``*.example.com`` matches any name that ends in
    ``.example.com`` and not ``example.com`` itself. Suffix look-alikes such as
    ``evil-example.com`` or ``xexample.com`` never match, because the comparison is on whole labels.
    """
    if domain.startswith(WILDCARD_PREFIX):
        base = domain[len(WILDCARD_PREFIX) :]
        return host.endswith("." + base) and len(host) > len(base) + 1
    return host == domain


def matching_domain(host: str, domains) -> str | None:
    """Return the first entry of DOMAINS that allows HOST (exact entries first), or None."""
    ordered = sorted(domains, key=lambda d: d.startswith(WILDCARD_PREFIX))
    return next((domain for domain in ordered if host_matches(host, domain)), None)

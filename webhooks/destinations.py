"""Parse webhook destination URLs: one parser, and the URL rebuilt from the parts it validated.

Browsers and libraries disagree about odd URLs (``https://evil.com\\@example.com`` is
``evil.com`` to a browser and ``example.com`` to some parsers), so anything where they could
disagree is refused rather than interpreted: userinfo, backslashes, control characters, spaces,
fragments, IP literals and, except for local tests, any port but 443.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhooks.domains import InvalidDomain, normalise_host

MAX_URL_LENGTH = 1000
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# RFC 3986 path and query characters; everything else must be percent-encoded by the user.
_PATH_AND_QUERY = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PORT = re.compile(r"^[0-9]{1,5}$")


class InvalidUrl(ValueError):
    """A destination URL that cannot be used; the message says why, in the user's words."""


@dataclass(frozen=True)
class DestinationUrl:
    host: str  # IDNA2008 A-label, lower case
    port: int  # 443 unless a local test allowed another
    path: str  # the path and query, starting with "/"

    @property
    def url(self) -> str:
        """Return the canonical URL, rebuilt from the validated parts."""
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{self.host}{port}{self.path}"


def parse_destination_url(raw: str, *, allow_any_port: bool = False) -> DestinationUrl:
    """Return RAW parsed and validated as a webhook destination, or raise InvalidUrl saying why.

    ALLOW_ANY_PORT is only for the loopback test receiver (ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY).
    """
    text = raw.strip(" ")
    if not text:
        raise InvalidUrl("Enter the https:// URL of your webhook receiver.")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URLs are at most {MAX_URL_LENGTH} characters long.")
    if re.search(r"[\x00-\x20\x7f-\x9f\u2028\u2029]", text):
        raise InvalidUrl("The URL contains a space, tab, line break or other control character.")
    if "\\" in text:
        raise InvalidUrl("The URL contains a backslash, which parsers read differently; remove it.")
    scheme = _SCHEME.match(text)
    if scheme is None or scheme.group(1).lower() != "https" or text[6:8] != "//":
        raise InvalidUrl("Webhook URLs must start with https:// (http, ftp, file and others are refused).")
    if "#" in text:
        raise InvalidUrl("Webhook URLs cannot have a fragment (a “#” part).")
    rest = text[len("https://") :]
    split_at = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, path = rest[:split_at], rest[split_at:]
    if "@" in authority:
        raise InvalidUrl("Webhook URLs cannot contain a user name or password (an “@” before the host).")
    if authority.startswith("["):
        raise InvalidUrl("Webhook URLs must use an approved domain name, not an IP address.")
    host, colon, port_text = authority.partition(":")
    port = 443
    if colon:
        if not _PORT.match(port_text) or not 0 < int(port_text) < 65536:
            raise InvalidUrl("The URL has an invalid port.")
        port = int(port_text)
        if port != 443 and not allow_any_port:
            raise InvalidUrl("Webhooks are sent to port 443 only; remove the port from the URL.")
    try:
        host = normalise_host(host)
    except InvalidDomain as error:
        raise InvalidUrl(str(error)) from error
    if path.startswith("?"):
        path = "/" + path
    path = path or "/"
    if not _PATH_AND_QUERY.match(path) or _BAD_PERCENT.search(path):
        raise InvalidUrl("The path contains characters that must be percent-encoded (e.g. %20 for a space).")
    parsed = DestinationUrl(host=host, port=port, path=path)
    # Belt and braces: the standard library must read the rebuilt URL exactly as we do.
    check = urlsplit(parsed.url)
    if check.hostname != host or (check.port or 443) != port or check.username or check.password:
        raise InvalidUrl("The URL is ambiguous; enter it in its plain form.")
    return parsed

"""The client IP: REMOTE_ADDR, unless a configured trusted proxy forwarded the request."""

from accessgov.core import clientip


def test_the_client_ip_comes_from_x_forwarded_for_only_through_a_trusted_proxy(rf, monkeypatch):
    """Attack catalogue case 32: client-set forwarding headers buy no fresh bucket."""
    monkeypatch.setenv("ACCESSGOV_TRUSTED_PROXIES", "10.0.0.0/24")
    clientip.trusted_proxies.cache_clear()
    try:
        through_proxy = rf.get(
            "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.1, 10.0.0.3"
        )
        direct = rf.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.5")
        garbage = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
        assert clientip.get_client_ip(through_proxy) == "198.51.100.1"
        assert clientip.get_client_ip(direct) == "198.51.100.9"
        assert clientip.get_client_ip(garbage) == "10.0.0.2"
    finally:
        clientip.trusted_proxies.cache_clear()

"""The pure key functions: format, checksum, digest, parsing."""

import pytest

from accessgov.core import keys


def test_a_new_api_key_has_the_prefix_a_lookup_id_256_random_bits_and_a_checksum():
    raw = keys.generate_secret(keys.API_KEY_PREFIX)
    assert raw.startswith("agk_")
    assert len(raw) == 4 + keys.LOOKUP_ID_LENGTH + keys.RANDOM_LENGTH + keys.CHECKSUM_LENGTH
    assert 62**keys.RANDOM_LENGTH > 2**256
    parsed = keys.parse_secret(raw, keys.API_KEY_PREFIX)
    assert parsed is not None
    assert parsed.lookup_id == raw[4 : 4 + keys.LOOKUP_ID_LENGTH]


def test_two_keys_are_never_the_same():
    assert len({keys.generate_secret(keys.API_KEY_PREFIX) for _ in range(200)}) == 200


def test_the_checksum_matches_a_fixed_vector():
    # CRC32("agk_") is 0x4B0D5D4F; in six base62 digits that is "1GAJF3"... computed independently:
    value = 0
    for char in keys.checksum("agk_"):
        value = value * 62 + keys.BASE62.index(char)
    import zlib

    assert value == zlib.crc32(b"agk_")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw + " ",
        lambda raw: raw + "\n",
        lambda raw: " " + raw,
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # checksum broken
        lambda raw: raw[:10] + ("x" if raw[10] != "x" else "y") + raw[11:],  # body changed
        lambda raw: raw.replace("a", "а", 1) if "a" in raw else raw[:-1] + "а",  # Cyrillic look-alike
        lambda raw: "agts_" + raw[4:],
        lambda raw: "",
        lambda raw: raw[:-1],
    ],
)
def test_a_mangled_key_is_refused_without_normalising(mangle):
    raw = keys.generate_secret(keys.API_KEY_PREFIX)
    assert keys.parse_secret(mangle(raw), keys.API_KEY_PREFIX) is None


def test_the_digest_is_hmac_sha256_with_the_pepper(settings):
    import hashlib
    import hmac

    settings.KEY_PEPPERS = {"1": "pepper-one"}
    settings.KEY_PEPPER_ID = "1"
    expected = hmac.new(b"pepper-one", b"agk_value", hashlib.sha256).hexdigest()
    assert keys.digest_secret("agk_value") == expected
    assert keys.digest_matches("agk_value", expected, "1")
    assert not keys.digest_matches("agk_valuf", expected, "1")


def test_a_digest_made_with_an_older_pepper_still_matches_after_rotation(settings):
    settings.KEY_PEPPERS = {"1": "old"}
    settings.KEY_PEPPER_ID = "1"
    old_digest = keys.digest_secret("agk_value")
    settings.KEY_PEPPERS = {"2": "new", "1": "old"}
    settings.KEY_PEPPER_ID = "2"
    assert keys.digest_matches("agk_value", old_digest, "1")
    assert keys.digest_secret("agk_value") != old_digest


def test_a_digest_of_a_retired_pepper_never_matches(settings):
    settings.KEY_PEPPERS = {"1": "old"}
    old_digest = keys.digest_secret("agk_value", "1")
    settings.KEY_PEPPERS = {"2": "new"}
    settings.KEY_PEPPER_ID = "2"
    assert not keys.digest_matches("agk_value", old_digest, "1")

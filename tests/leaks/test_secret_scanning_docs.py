"""docs/secret-scanning.md: its regular expression and checksum check, run as a scanner would."""

import re
from pathlib import Path

from accessgov.core import keys
from accessgov.gateway.actions import GATEWAY_KEY_PREFIX
from accessgov.leaks.identify import SECRET_TYPES
from accessgov.operator.models import OPERATOR_KEY_PREFIX
from accessgov.trusted.oauth import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX

DOC = (Path(__file__).resolve().parents[2] / "docs" / "secret-scanning.md").read_text()


def _documented_code() -> dict:
    [snippet] = re.findall(r"```python\n(.*?)```", DOC, re.S)
    namespace: dict = {}
    exec(compile(snippet, "docs/secret-scanning.md", "exec"), namespace)  # noqa: S102 - our own doc
    return namespace


def test_the_regex_and_checksum_find_exactly_the_real_secret_not_its_typo():
    code = _documented_code()
    secret = keys.generate_secret(keys.TOKEN_SECRET_PREFIX)
    position = 20
    typo = secret[:position] + ("a" if secret[position] != "a" else "b") + secret[position + 1 :]
    sample = f"TOKEN_ID=agt_AAAAAAAAAAAA\nTOKEN={secret}\n# old: {typo}\n"
    assert len(code["PATTERN"].findall(sample)) == 2  # the expression alone matches both
    assert code["find_accessgov_secrets"](sample) == [secret]


def test_the_documented_expression_is_the_one_in_the_doc_and_covers_every_prefix():
    code = _documented_code()
    [documented] = re.findall(r"```regex\n(.*?)\n```", DOC, re.S)
    assert code["PATTERN"].pattern == documented
    for prefix in (
        keys.API_KEY_PREFIX,
        keys.TOKEN_SECRET_PREFIX,
        ACCESS_TOKEN_PREFIX,
        REFRESH_TOKEN_PREFIX,
        OPERATOR_KEY_PREFIX,
        GATEWAY_KEY_PREFIX,
    ):
        value = keys.generate_secret(prefix)
        assert code["find_accessgov_secrets"](f"x {value} y") == [value], prefix
    assert set(SECRET_TYPES) == {
        keys.API_KEY_PREFIX,
        keys.TOKEN_SECRET_PREFIX,
        ACCESS_TOKEN_PREFIX,
        REFRESH_TOKEN_PREFIX,
        OPERATOR_KEY_PREFIX,
        GATEWAY_KEY_PREFIX,
    }


def test_a_token_id_is_not_a_secret_to_the_scanner():
    assert _documented_code()["find_accessgov_secrets"]("agt_AAAAAAAAAAAA") == []

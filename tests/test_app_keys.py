"""The two GitHub App plugins read a ``private_key`` the same way.

github-actions (``app_auth``) and the archiver (``app``) are installed
apart, so each keeps its own key loading; this holds the two copies to
one behaviour: the same forms accepted, the same message for the rest,
never quoting the value.
"""

import base64
import collections.abc

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from imbi_plugin_archiver import app as archiver_app
from imbi_plugin_github_actions import app_auth
from imbi_plugin_github_actions.options import AppCredentials
from imbi_plugin_testing._host import PluginCredentialsMissing

Form = collections.abc.Callable[[str], str]


Key = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
)


def _pem(key: Key, form: serialization.PrivateFormat) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, form, serialization.NoEncryption()
    ).decode()


RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
#: GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY"); an operator may
#: have converted it to PKCS#8.
PKCS1 = _pem(RSA, serialization.PrivateFormat.TraditionalOpenSSL)
PKCS8 = _pem(RSA, serialization.PrivateFormat.PKCS8)
EC = _pem(
    ec.generate_private_key(ec.SECP256R1()),
    serialization.PrivateFormat.PKCS8,
)
ED25519 = _pem(
    ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8
)
ENCRYPTED = RSA.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.BestAvailableEncryption(b'passphrase'),
).decode()


def _escaped(pem: str) -> str:
    return pem.strip().replace('\n', '\\n')


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _wrapped(text: str) -> str:
    encoded = _b64(text)
    return '\n'.join(encoded[i : i + 64] for i in range(0, len(encoded), 64))


ACCEPTED: dict[str, str] = {
    'pkcs1 pem': PKCS1,
    'pkcs8 pem': PKCS8,
    'pem, surrounding blank lines': f'\n\n  {PKCS1}  \n',
    'pem, crlf line breaks': PKCS1.replace('\n', '\r\n'),
    'escaped \\n': _escaped(PKCS1),
    'escaped \\r\\n': PKCS1.strip().replace('\n', '\\r\\n'),
    'escaped pkcs8': _escaped(PKCS8),
    'base64': _b64(PKCS1),
    'base64, wrapped': _wrapped(PKCS1),
    'base64 of pkcs8': _b64(PKCS8),
}
NOT_A_KEY: dict[str, str] = {
    'text': 'not a key at all',
    'a token': 'ghp_' + 'x' * 36,
    'truncated pem': PKCS1[: len(PKCS1) // 2],
    'corrupt pem': PKCS1.replace('A', 'B', 40),
    'corrupt escaped pem': _escaped(PKCS1).replace('A', 'B', 40),
    'base64 of text': _b64('not a key at all'),
    'base64 of an escaped pem': _b64(_escaped(PKCS1)),
    'base64 of corrupt pem': _b64(PKCS1.replace('A', 'B', 40)),
    'pem body without armour': ''.join(PKCS1.splitlines()[1:-1]),
    'encrypted pem': ENCRYPTED,
}
NOT_RSA: dict[str, str] = {
    'ec pem': EC,
    'escaped ec pem': _escaped(EC),
    'base64 of an ec pem': _b64(EC),
    'ed25519 pem': ED25519,
}


def _said(exc: Exception) -> str:
    """The message; one chained to cryptography's error (which may
    describe the key) is marked so the comparison fails."""
    return str(exc) if exc.__cause__ is None else f'chained: {exc}'


def _github_actions(private_key: str) -> str:
    try:
        app_auth.load(AppCredentials('1', private_key))
    except PluginCredentialsMissing as exc:
        return _said(exc)
    return 'accepted'


def _archiver(private_key: str) -> str:
    try:
        archiver_app.load_key(private_key)
    except archiver_app.CredentialError as exc:
        return _said(exc)
    return 'accepted'


def test_both_say_the_same() -> None:
    assert archiver_app.NOT_A_KEY == app_auth.NOT_A_KEY
    assert archiver_app.NOT_RSA == app_auth.NOT_RSA


@pytest.mark.parametrize(
    ('private_key', 'expected'),
    [
        *[pytest.param(v, 'accepted', id=k) for k, v in ACCEPTED.items()],
        *[
            pytest.param(v, app_auth.NOT_A_KEY, id=k)
            for k, v in NOT_A_KEY.items()
        ],
        *[pytest.param(v, app_auth.NOT_RSA, id=k) for k, v in NOT_RSA.items()],
    ],
)
def test_one_behaviour(private_key: str, expected: str) -> None:
    # The messages are constants: equal, they quote nothing of the key.
    assert _github_actions(private_key) == expected
    assert _archiver(private_key) == expected

"""Secrets stay out of URLs, logs and errors over a whole session.

The autouse secret scan checks logs and exception texts at the end of
every test; this test makes sure it has something to check (every kind
of secret registered, httpx's request lines captured) and checks the
stand-in's request log, which is what an access log would keep.
"""

import urllib.parse

from github_identity_helpers import REDIRECT_URI, GitHub
from imbi_plugin_testing import SecretScan


async def test_no_secret_in_any_url_log_or_error(
    github: GitHub, secret_scan: SecretScan
) -> None:
    host = github.host(github.github_app, ghes=True)
    started = await host.authorization_request(REDIRECT_URI)
    verifier = started.result.code_verifier
    code, state = await github.authorize(host)
    signed_in = await host.exchange_code(code, REDIRECT_URI, state)
    _, creds = signed_in.result
    refreshed = await host.refresh(creds.refresh_token)
    assert refreshed.ok
    new = refreshed.result
    assert (await host.revoke(new.access_token)).status == 204
    # Failures too: a spent code and a dead refresh token.
    spent = await github.sign_in(host)
    assert spent.ok
    assert not (await host.refresh(creds.refresh_token)).ok

    secrets = {
        github.github_app.client_secret,
        verifier,
        code,
        creds.access_token,
        creds.refresh_token,
        new.access_token,
        new.refresh_token,
    }
    assert secrets <= secret_scan.secrets
    assert any('HTTP Request: POST' in text for text in secret_scan.texts)
    for request in github.fake.requests:
        url = urllib.parse.unquote(request.url_text)
        assert not any(secret in url for secret in secret_scan.secrets), url
    assert 'IdentityCredentials redacted' in repr(creds)

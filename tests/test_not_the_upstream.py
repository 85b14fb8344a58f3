"""Every plugin tells "empty" from "this is not the upstream".

A mistyped URL or path, a load balancer or another service answers with
a 404 page or with JSON of another shape. A plugin that reads those as
"nothing there" shows an empty configuration, no logs, no repository to
archive, and invites the operator to re-enter what is in fact still
stored. Each plugin must answer PluginUnavailableError instead (the host's
503: not reachable as configured), at the first request that is not the
upstream's own. Vault is held to this by its own tests (issue 16).
"""

import collections.abc
import typing

import pytest
from imbi_plugin_testing.firstparty import first_party
from imbi_plugin_testing.profiles import (
    MATRIX_BUDGET_SECONDS,
    Profile,
    UpstreamCall,
    outcome,
    profile_for,
)
from imbi_plugin_testing.standin import Fault

#: Profiles are named after the v1 slug, on either generation.
SLUGS = [p.slug_v1 for p in first_party() if p.slug_v1 != 'vault']

HTML_404 = (
    '<!DOCTYPE html><html><head><title>404 Not Found</title></head>'
    '<body><h1>Not Found</h1><p>The requested URL was not found on this '
    'server.</p></body></html>'
)
#: What each kind of impostor answers to every request.
IMPOSTORS: dict[str, Fault] = {
    'html-404': Fault(
        status=404,
        body=HTML_404,
        headers={'Content-Type': 'text/html; charset=utf-8'},
        times=None,
    ),
    'text-404': Fault(
        status=404,
        body='404 page not found\n',
        headers={'Content-Type': 'text/plain; charset=utf-8'},
        times=None,
    ),
    'json-404': Fault(
        status=404,
        body={'code': 404, 'error': 'route not found'},
        times=None,
    ),
    'foreign-json': Fault(
        status=200,
        body={'status': 'ok', 'service': 'something-else'},
        times=None,
    ),
}


def _cases() -> collections.abc.Iterator[typing.Any]:
    for slug in SLUGS:
        made = profile_for(slug)
        assert made is not None, slug
        for call in made.calls:
            # Best-effort calls (identity revoke) answer ok whatever the
            # upstream says, even a 500, by design.
            if call.expected('500') == 'ok':
                continue
            for impostor in IMPOSTORS:
                # A write whose 2xx answer the plugin documents it cannot
                # doubt (a workflow dispatch: raising would invite a second
                # deploy; an Imbi PATCH) takes a 2xx of any shape as done.
                if impostor == 'foreign-json' and (
                    call.expected('malformed') == 'ok'
                ):
                    continue
                yield pytest.param(
                    made, call, impostor, id=f'{slug}-{call.name}-{impostor}'
                )


@pytest.mark.parametrize(('profile', 'call', 'impostor'), list(_cases()))
async def test_an_impostor_is_not_an_empty_upstream(
    profile: Profile, call: UpstreamCall, impostor: str
) -> None:
    with profile.serving() as (fake, url):
        host = profile.make_host(fake, url, MATRIX_BUDGET_SECONDS)
        fault = IMPOSTORS[impostor]
        target = call.target
        if target is not None:
            fault = Fault(
                path=target.path,
                method=target.method,
                when=target.when,
                status=fault.status,
                body=fault.body,
                headers=fault.headers,
                times=None,
            )
        fake.inject(fault)
        result = await call.run(host)
    assert outcome(result) == 'PluginUnavailableError', getattr(
        result, 'body', result
    )

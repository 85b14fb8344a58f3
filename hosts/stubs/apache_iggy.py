"""Stand-in for the ``apache-iggy`` distribution, which cannot install here.

imbi-common 2.33 and later import ``IggyClient`` and ``SendMessage`` from
it at module level (``imbi.common.iggy.client``, which imbi-api and the
gateway's ``notifications`` import), so the host cannot even be imported
without the module. apache-iggy publishes no wheel for Python 3.14 and
its source build fetches crates from crates.io, which this machine cannot
reach: ``nox -s host_v3`` and ``nox -s host_gateway_v3`` leave it out with
uv's ``--override`` and copy this file into the host's venv instead.

Any use raises: the host tests replace Iggy's client singleton (imbi-api)
or the gateway's publishing with a recorder, so nothing may reach this
module's names.
"""

import typing


class IggyUnavailable(ImportError):
    """apache-iggy is not installed: this is the test stub."""


def _refuse(name: str) -> typing.NoReturn:
    raise IggyUnavailable(
        f'apache_iggy.{name} used, but apache-iggy is not installed '
        '(test stub, see hosts/stubs/apache_iggy.py)'
    )


class _Refusing(type):
    def __getattr__(cls, attribute: str) -> typing.Any:
        _refuse(f'{cls.__name__}.{attribute}')

    def __call__(cls, *args: typing.Any, **kwargs: typing.Any) -> typing.Any:
        _refuse(cls.__name__)


class IggyClient(metaclass=_Refusing):
    pass


class SendMessage(metaclass=_Refusing):
    pass

"""Which branch a webhook delivery asks to sync, or why it is skipped.

SonarQube POSTs its analysis webhook with ``taskId``, ``status`` and a
``branch`` object (``name``, ``type`` BRANCH|PULL_REQUEST, ``isMain``);
a delivery caused by an issue change has no ``taskId``.
"""

import collections.abc
import dataclasses
import json
import typing

if typing.TYPE_CHECKING:
    from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig


@dataclasses.dataclass(frozen=True)
class Target:
    """The branch to read; ``branch=None`` is the main branch.

    The main branch is read without a ``branch`` parameter, which
    SonarQube's Community Edition does not accept.
    """

    branch: str | None = None

    @property
    def label(self) -> str:
        return 'main branch' if self.branch is None else repr(self.branch)


MAIN = Target()


def body_of(payload: object) -> collections.abc.Mapping[str, typing.Any]:
    """The webhook body as a mapping; empty when it is not JSON."""
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    if isinstance(payload, collections.abc.Mapping):
        return payload
    return {}


def select(payload: object, config: UpdateProjectConfig) -> Target | str:
    """The branch to sync, or the reason (text) to skip the delivery."""
    body = body_of(payload)
    branch = body.get('branch')
    if not isinstance(branch, collections.abc.Mapping):
        branch = {}
    name = branch.get('name') if isinstance(branch.get('name'), str) else None
    configured = config.branches
    if 'taskId' not in body:
        # Not an analysis (an issue change, or no body): the main branch,
        # filtered only when the body names it.
        if (
            configured is not None
            and branch.get('isMain') is True
            and name not in configured
        ):
            return f'main branch {name!r} is not in the configured branches'
        return MAIN
    status = body.get('status')
    if status != 'SUCCESS':
        return f'analysis task status is {status!r}, not SUCCESS'
    if branch.get('type') == 'PULL_REQUEST':
        return f'pull request {name!r} analysis'
    # Without branch details (no branch support) the main branch was
    # analysed.
    is_main = name is None or branch.get('isMain') is True
    if configured is None:
        if not is_main:
            return (
                f'branch {name!r} is not the main branch and no branches '
                'are configured'
            )
        return MAIN
    if name is not None and name not in configured:
        return f'branch {name!r} is not in the configured branches'
    return MAIN if is_main else Target(name)

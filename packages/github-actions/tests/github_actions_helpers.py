"""What the tests share: the served stand-in and a Host factory."""

import dataclasses
import typing

from imbi_plugin_testing import Host
from imbi_plugin_testing.fakes.github import GitHubFake, Repository, Token
from imbi_plugin_testing.fakes.github import actions as gh_actions
from imbi_plugin_testing.generation import (
    handler_under_test,
    plugin_under_test,
)

OWNER, NAME = 'acme', 'billing-api'
MODULE = 'imbi_plugin_github_actions'


@dataclasses.dataclass
class GitHub:
    """The served stand-in and what a test needs to call the plugin."""

    fake: GitHubFake
    url: str
    token: Token
    repo: Repository
    git: gh_actions.RepoState

    @property
    def state(self) -> gh_actions.ActionsState:
        return gh_actions.state(self.fake)

    def options(self, **overrides: typing.Any) -> dict[str, typing.Any]:
        options: dict[str, typing.Any] = {'api_url': self.url}
        options.update(overrides)
        return options

    def host(
        self,
        *,
        token: str | None = None,
        project_options: dict[str, typing.Any] | None = None,
        **overrides: typing.Any,
    ) -> Host:
        """A host whose project options name the repository."""
        return Host(
            plugin(),
            plugin_options=self.options(**overrides),
            project_options=(
                {'repository': f'{OWNER}/{NAME}'}
                if project_options is None
                else project_options
            ),
            credentials={'token': token or self.token.value},
        )

    def mark(self) -> int:
        """A position in the request log (see :meth:`since`)."""
        return len(self.fake.requests)

    def since(self, mark: int) -> list[str]:
        """``METHOD path`` of every request after ``mark``."""
        return [f'{r.method} {r.path}' for r in self.fake.requests[mark:]]

    def sha(self, ref: str) -> str:
        found = self.git.resolve(ref)
        assert found is not None, ref
        return found


def plugin() -> type:
    """The plugin a host of the installed generation loads."""
    return plugin_under_test(MODULE)


def handler() -> type:
    """The class a host instantiates per call."""
    return handler_under_test(MODULE)

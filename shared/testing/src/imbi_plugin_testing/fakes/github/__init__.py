"""One GitHub stand-in (OAuth, REST, GraphQL) shared by the GitHub plugins.

:class:`~imbi_plugin_testing.fakes.github.core.GitHubFake` holds the state
(users, tokens, repositories) and assembles its routes from the modules
``oauth`` (identity), ``actions`` (deployments) and ``repos`` (archiver).
Each route module exposes ``routes(fake) -> list[BaseRoute]``.
"""

from imbi_plugin_testing.fakes.github.core import (
    GitHubFake,
    OAuthApp,
    Repository,
    Token,
    User,
    rest,
)

__all__ = ['GitHubFake', 'OAuthApp', 'Repository', 'Token', 'User', 'rest']

"""Which repository a project means: the option, else its links."""

import dataclasses
import typing
import urllib.parse

from imbi_plugin_archiver.options import Options, split_repository

LINK_KEY = 'github-repository'
#: First path segments of github.com pages that are not repositories.
_NOT_OWNERS = frozenset(
    {
        'about',
        'apps',
        'collections',
        'enterprise',
        'enterprises',
        'explore',
        'features',
        'login',
        'marketplace',
        'new',
        'notifications',
        'orgs',
        'organizations',
        'pricing',
        'settings',
        'sponsors',
        'topics',
        'users',
    }
)


@dataclasses.dataclass(frozen=True)
class Target:
    """The repository to act on and where the plugin learned of it."""

    owner: str
    name: str
    #: Project link key it came from; None for the ``repository`` option.
    link_key: str | None = None

    @property
    def full_name(self) -> str:
        return f'{self.owner}/{self.name}'


@dataclasses.dataclass(frozen=True)
class Unresolved:
    """No single repository: ``skipped`` (none) or ``failed`` (bad)."""

    status: typing.Literal['skipped', 'failed']
    message: str


def repository_in(url: str, web_host: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a repository web URL on ``web_host``."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.netloc.lower().rpartition('@')[2].removeprefix('www.')
    if parts.scheme not in ('http', 'https') or host != web_host:
        return None
    segments = [s for s in parts.path.split('/') if s]
    if len(segments) < 2 or segments[0].lower() in _NOT_OWNERS:
        return None
    return split_repository(f'{segments[0]}/{segments[1]}')


def resolve(options: Options, links: dict[str, str]) -> Target | Unresolved:
    """The option, else the ``github-repository`` link, else the one link.

    Only links on the GitHub host of ``api_url`` count, so a GHES
    configuration never acts on a github.com repository or the reverse.
    """
    if options.repository is not None:
        return Target(*options.repository)
    host = options.web_host
    if LINK_KEY in links:
        found = repository_in(links[LINK_KEY], host)
        if found is None:
            return Unresolved(
                'failed',
                f'the project link {LINK_KEY!r} ({links[LINK_KEY][:200]}) '
                f'is not a repository URL on {host}, the GitHub host of '
                "the 'api_url' option: fix the link, or set the "
                "'repository' option to owner/name",
            )
        return Target(*found, link_key=LINK_KEY)
    candidates: dict[str, tuple[tuple[str, str], list[str]]] = {}
    for key, url in sorted(links.items()):
        found = repository_in(url, host)
        if found is not None:
            entry = candidates.setdefault('/'.join(found).lower(), (found, []))
            entry[1].append(key)
    if not candidates:
        return Unresolved(
            'skipped',
            'no GitHub repository linked to this project (add a '
            f"{LINK_KEY!r} link or set the 'repository' option to act on "
            'one)',
        )
    if len(candidates) > 1:
        listing = '; '.join(
            f'{", ".join(keys)} -> {"/".join(found)}'
            for found, keys in candidates.values()
        )
        return Unresolved(
            'failed',
            f'several project links point at GitHub repositories on {host} '
            f"({listing}): set the 'repository' option to the owner/name "
            f'to act on, or add a {LINK_KEY!r} link',
        )
    ((found, keys),) = candidates.values()
    return Target(*found, link_key=keys[0])

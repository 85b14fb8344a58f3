"""What GitHub refused, kept apart from the host's exception types.

A refusal is an outcome the operator acts on (a missing permission, a
name clash), so it becomes a ``failed`` or ``skipped`` result; the
host's exceptions (authentication, unavailability, budget) propagate.
"""


class GitHubRefused(Exception):
    """GitHub answered a 4xx other than 401 and rate limits."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f'{status} {message}')
        self.status = status
        self.message = message


class NotFound(GitHubRefused):
    """404: deleted, or invisible to the token."""

"""GitHub states mapped to Imbi's vocabularies (documented in the README)."""

import typing

from imbi_plugin_github_actions import models

RunStatus = typing.Literal[
    'queued', 'in_progress', 'success', 'failure', 'cancelled', 'unknown'
]
CheckStatus = typing.Literal['pass', 'fail', 'warn', 'unknown']
EventStatus = typing.Literal[
    'pending', 'in_progress', 'success', 'failed', 'rolled_back'
]

_WAITING = frozenset({'queued', 'requested', 'waiting', 'pending'})
_RUN_CONCLUSIONS: dict[str, RunStatus] = {
    'success': 'success',
    'failure': 'failure',
    'timed_out': 'failure',
    'startup_failure': 'failure',
    'cancelled': 'cancelled',
}
#: Check-run conclusions that fail a commit (as GitHub's rollup counts them).
_CHECK_FAILED = frozenset(
    {'failure', 'timed_out', 'cancelled', 'startup_failure', 'action_required'}
)
_COMBINED: dict[str, CheckStatus] = {
    'success': 'pass',
    'failure': 'fail',
    'error': 'fail',
}
_CHECK_PASSED = frozenset({'success', 'neutral', 'skipped'})
_ROLLUP: dict[str, CheckStatus] = {
    'SUCCESS': 'pass',
    'FAILURE': 'fail',
    'ERROR': 'fail',
    'PENDING': 'warn',
    'EXPECTED': 'warn',
}
_DEPLOYMENT: dict[str, EventStatus] = {
    'queued': 'pending',
    'pending': 'pending',
    'in_progress': 'in_progress',
    'success': 'success',
    # GitHub marks a successful deployment inactive once a newer one to
    # the same environment succeeds: it did deploy.
    'inactive': 'success',
    'failure': 'failed',
    'error': 'failed',
}


def run_status(status: str | None, conclusion: str | None) -> RunStatus:
    """A workflow run's status and conclusion as a DeploymentRun status."""
    if status in _WAITING:
        return 'queued'
    if status == 'in_progress':
        return 'in_progress'
    if status == 'completed':
        return _RUN_CONCLUSIONS.get(conclusion or '', 'unknown')
    return 'unknown'


def check_status(
    runs: list[models.CheckRun], combined: models.CombinedStatus | None
) -> CheckStatus:
    """Check runs and the combined commit status as one verdict.

    fail: a check run failed, timed out, was cancelled, failed to start or
    needs action, or a commit status is failure/error. warn: nothing
    failed but something is still running (or stale, or a commit status
    pending). pass: everything passed (success, neutral or skipped).
    unknown: no check runs and no commit statuses.
    """
    verdicts: set[CheckStatus] = set()
    for run in runs:
        if run.status != 'completed':
            verdicts.add('warn')
        elif run.conclusion in _CHECK_FAILED:
            verdicts.add('fail')
        elif run.conclusion in _CHECK_PASSED:
            verdicts.add('pass')
        else:
            verdicts.add('warn')
    # The combined state is "pending" when a commit has no statuses.
    if combined is not None and combined.total_count > 0:
        verdicts.add(_COMBINED.get(combined.state, 'warn'))
    for verdict in ('fail', 'warn', 'pass'):
        if verdict in verdicts:
            return typing.cast(CheckStatus, verdict)
    return 'unknown'


def rollup_status(rollup: models.Rollup | None) -> CheckStatus:
    """GraphQL's statusCheckRollup.state as a check status."""
    if rollup is None:
        return 'unknown'
    return _ROLLUP.get(rollup.state, 'unknown')


def deployment_status(status: str | None) -> EventStatus:
    """The latest deployment status (None: none yet) as an event status."""
    if status is None:
        return 'pending'
    return _DEPLOYMENT.get(status, 'pending')

"""Demo scenarios: one module per plugin slug, run by ``imbi-plugins demo``.

A scenario module is named after the slug (dashes as underscores, e.g.
``github_actions``) and defines ``async def run(steps: Steps) -> None``.
It starts its own stand-ins, drives the plugin through
:class:`~imbi_plugin_testing.Host`, and wraps each step in
``async with steps.step('what it does'):``. A step that raises fails the
step and ends the scenario.
"""

import collections.abc
import contextlib
import dataclasses
import importlib
import time
import types
import typing


@dataclasses.dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ''


class StepFailed(Exception):
    """Ends a scenario after a failed step."""


class Steps:
    """Records the steps of one scenario and reports each as it ends."""

    def __init__(
        self,
        slug: str,
        report: collections.abc.Callable[[str, StepResult], None]
        | None = None,
    ) -> None:
        self.slug = slug
        self.results: list[StepResult] = []
        self._report = report

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> collections.abc.AsyncIterator[None]:
        started = time.monotonic()
        try:
            yield
        except Exception as exc:
            result = StepResult(
                name,
                False,
                time.monotonic() - started,
                f'{type(exc).__name__}: {exc}',
            )
            self._record(result)
            raise StepFailed(name) from exc
        self._record(StepResult(name, True, time.monotonic() - started))

    def _record(self, result: StepResult) -> None:
        self.results.append(result)
        if self._report is not None:
            self._report(self.slug, result)

    @staticmethod
    def check(condition: object, message: str) -> None:
        """Fail the current step with ``message`` unless ``condition``."""
        if not condition:
            raise AssertionError(message)


class ScenarioModule(typing.Protocol):
    async def run(self, steps: Steps) -> None: ...


def scenario_for(slug: str) -> types.ModuleType | None:
    """The scenario module for ``slug``, or None when there is none."""
    name = f'{__name__}.{slug.replace("-", "_")}'
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise

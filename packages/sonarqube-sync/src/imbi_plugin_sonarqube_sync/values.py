"""SonarQube measures as typed values, and the JSON Patch that writes them.

Values arrive as strings; the metric's declared type (``metrics`` in the
measures answer) says what they are: INT/WORK_DUR/MILLISEC -> int,
FLOAT/PERCENT -> float, RATING -> 'A'..'E' (or float), BOOL -> bool,
anything else -> text. A metric SonarQube does not describe is typed by
the look of its value.
"""

import collections.abc
import dataclasses
import re
import typing
import urllib.parse

if typing.TYPE_CHECKING:
    from imbi_plugin_sonarqube_sync.config import UpdateProjectConfig

_INT_TYPES = frozenset({'INT', 'WORK_DUR', 'MILLISEC'})
_FLOAT_TYPES = frozenset({'FLOAT', 'PERCENT'})
_INTEGER = re.compile(r'-?\d+')
_DECIMAL = re.compile(r'-?\d+\.\d+([eE][-+]?\d+)?')
_RATING_LETTERS = 'ABCDE'

Value = int | float | bool | str


@dataclasses.dataclass(frozen=True)
class Measure:
    """One measure as read: its raw value and declared type (if any)."""

    metric: str
    raw: str
    type: str | None = None


def typed(measure: Measure, rating_letters: bool) -> Value:
    """The measure's value as the JSON type it stands for."""
    kind = measure.type or _guess_type(measure)
    raw = measure.raw.strip()
    if kind == 'BOOL':
        return raw.lower() == 'true'
    if kind == 'RATING':
        number = _number(raw)
        if (
            rating_letters
            and isinstance(number, (int, float))
            and float(number).is_integer()
            and 1 <= number <= len(_RATING_LETTERS)
        ):
            return _RATING_LETTERS[int(number) - 1]
        return float(number) if isinstance(number, (int, float)) else raw
    if kind in _INT_TYPES and _INTEGER.fullmatch(raw):
        return int(raw)
    if kind in _INT_TYPES | _FLOAT_TYPES:
        number = _number(raw)
        if kind in _FLOAT_TYPES and isinstance(number, int):
            return float(number)
        return number
    return raw


def _guess_type(measure: Measure) -> str:
    if measure.metric.endswith('_rating'):
        return 'RATING'
    if _INTEGER.fullmatch(measure.raw.strip()):
        return 'INT'
    if _DECIMAL.fullmatch(measure.raw.strip()):
        return 'FLOAT'
    return 'STRING'


def _number(raw: str) -> Value:
    if _INTEGER.fullmatch(raw):
        return int(raw)
    if _DECIMAL.fullmatch(raw):
        return float(raw)
    return raw


def dashboard_url(sonarqube_url: str, key: str, branch: str | None) -> str:
    query = {'id': key}
    if branch is not None:
        query['branch'] = branch
    return f'{sonarqube_url}/dashboard?{urllib.parse.urlencode(query)}'


def patch(
    config: UpdateProjectConfig,
    measures: collections.abc.Iterable[Measure],
    gate_status: str | None,
    dashboard: str,
) -> list[dict[str, typing.Any]]:
    """``add`` operations in config order; absent values left out.

    ``add`` on an object member replaces what is there, so the same
    delivery twice gives the same project.
    """
    by_metric = {m.metric: m for m in measures}
    operations = []
    for metric, pointer in config.metrics.items():
        if metric in by_metric:
            value = typed(by_metric[metric], config.rating_letters)
            operations.append({'op': 'add', 'path': pointer, 'value': value})
    if config.quality_gate and gate_status is not None:
        operations.append(
            {'op': 'add', 'path': config.quality_gate, 'value': gate_status}
        )
    if config.dashboard_url:
        operations.append(
            {'op': 'add', 'path': config.dashboard_url, 'value': dashboard}
        )
    return operations

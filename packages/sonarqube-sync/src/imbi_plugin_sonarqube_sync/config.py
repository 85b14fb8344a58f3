"""The ``action_config`` of ``update_project_from_webhook``.

imbi-gateway 1.3+ validates a rule's config with
:class:`UpdateProjectConfig` itself (it is the descriptor's
``config_model``); the older ``run_action`` style hands over a JSON
string, which :func:`parse` turns into the same model.
"""

import re
import typing

import pydantic

#: SonarQube's own rule (MetricKeyValidator): letters, digits, '-' and
#: '_', with at least one non-digit. Leading digits only before the
#: first non-digit, so a match never backtracks (linear on any input).
_METRIC_KEY = re.compile(r'[0-9]*[A-Za-z_-][A-Za-z0-9_-]*')


def _pointer(value: str) -> str:
    """An RFC 6901 pointer to an object member that ``add`` can set."""
    import jsonpointer

    try:
        parts = jsonpointer.JsonPointer(value).parts
    except jsonpointer.JsonPointerException as exc:
        raise ValueError(f'{value!r} is not a JSON pointer: {exc}') from None
    if not parts:
        raise ValueError('the empty pointer would replace the whole project')
    for part in parts:
        # `add` inserts at an array position instead of replacing, so a
        # second run would not give the same project.
        if part == '-' or part.isdigit():
            raise ValueError(
                f'{value!r} points into an array ({part!r}); point at '
                'object members so that re-running the action is idempotent'
            )
        if not part:
            raise ValueError(f'{value!r} has an empty member name')
    return value


Pointer = typing.Annotated[
    pydantic.StrictStr, pydantic.AfterValidator(_pointer)
]


class UpdateProjectConfig(pydantic.BaseModel):
    """Which SonarQube values go where in the Imbi project."""

    # Built on first use: hosts import this model with the action catalog
    # at start-up, and validate with it only when a rule is saved or run.
    model_config = pydantic.ConfigDict(
        extra='forbid', frozen=True, strict=True, defer_build=True
    )

    metrics: dict[str, Pointer] = pydantic.Field(
        min_length=1,
        description=(
            'SonarQube metric key -> JSON pointer (RFC 6901) of the Imbi '
            'project field that receives its value'
        ),
    )
    quality_gate: Pointer | None = pydantic.Field(
        default=None,
        description='JSON pointer receiving the quality gate status',
    )
    dashboard_url: Pointer | None = pydantic.Field(
        default=None,
        description="JSON pointer receiving the project's dashboard URL",
    )
    branches: list[pydantic.StrictStr] | None = pydantic.Field(
        default=None,
        min_length=1,
        description=(
            'Branches to sync; absent: the main branch only. List the '
            'main branch to keep syncing it.'
        ),
    )
    rating_letters: bool = pydantic.Field(
        default=True,
        description='Write ratings 1.0..5.0 as the letters A..E',
    )

    @pydantic.field_validator('metrics')
    @classmethod
    def _metric_keys(cls, metrics: dict[str, str]) -> dict[str, str]:
        for key in metrics:
            if not _METRIC_KEY.fullmatch(key):
                raise ValueError(
                    f'{key[:100]!r} is not a SonarQube metric key (letters, '
                    "digits, '-' and '_', with at least one non-digit)"
                )
        return metrics

    @pydantic.field_validator('branches')
    @classmethod
    def _branch_names(cls, branches: list[str] | None) -> list[str] | None:
        if branches is not None:
            if any(not name.strip() for name in branches):
                raise ValueError('branch names must not be empty')
            if len(set(branches)) != len(branches):
                raise ValueError('branch names must be unique')
        return branches

    @pydantic.model_validator(mode='after')
    def _distinct_targets(self) -> typing.Self:
        targets = list(self.metrics.values())
        targets += [p for p in (self.quality_gate, self.dashboard_url) if p]
        repeated = sorted({p for p in targets if targets.count(p) > 1})
        if repeated:
            raise ValueError(
                f'each pointer may receive one value; repeated: {repeated}'
            )
        return self


def parse(action_config: object) -> UpdateProjectConfig:
    """The validated config, from a model, a mapping or a JSON string.

    Raises ValueError with every problem listed; no upstream is touched.
    """
    if isinstance(action_config, UpdateProjectConfig):
        return action_config
    try:
        if isinstance(action_config, (str, bytes)):
            if not action_config.strip():
                raise ValueError(
                    'action_config is empty: it needs at least '
                    '{"metrics": {"<metric key>": "<JSON pointer>"}}'
                )
            return UpdateProjectConfig.model_validate_json(action_config)
        if isinstance(action_config, pydantic.BaseModel):
            action_config = action_config.model_dump()
        if isinstance(action_config, typing.Mapping):
            return UpdateProjectConfig.model_validate(dict(action_config))
    except pydantic.ValidationError as exc:
        raise ValueError(f'invalid action_config: {_summary(exc)}') from None
    raise ValueError(
        'invalid action_config: expected a JSON object, got '
        f'{type(action_config).__name__}'
    )


def _summary(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = '.'.join(str(part) for part in error['loc']) or 'config'
        message = error['msg'].removeprefix('Value error, ')
        problems.append(f'{where}: {message}')
    return '; '.join(problems)

"""The callable and config model of TinyWebhook's action catalog."""

import typing

import pydantic

calls: list[dict[str, typing.Any]] = []


class SyncConfig(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra='forbid')
    metric: str


async def sync(**kwargs: typing.Any) -> None:
    if kwargs['external_identifier'] == 'boom':
        raise RuntimeError('upstream exploded')
    calls.append(kwargs)

"""How Imbi configuration keys are stored in Vault secrets.

A key's data is ``{"value": "<string>"}``. Its data type lives in the
KV v2 custom_metadata field ``imbi_data_type``, and on KV v1 (which has
no metadata) as a second data field of the same name. A key without a
known recorded type is a ``secret``. Data of any other shape was written
by someone else: Imbi shows it as a ``secret`` whose value is the data
as compact, sorted JSON, and never overwrites it.
"""

import json
import typing

VALUE_FIELD = 'value'
TYPE_FIELD = 'imbi_data_type'
FALLBACK_TYPE = 'secret'


def owned_by_imbi(data: dict[str, typing.Any], kv_version: int) -> bool:
    """True when ``data`` has exactly the fields Imbi writes."""
    if not isinstance(data.get(VALUE_FIELD), str):
        return False
    if kv_version == 2:
        return set(data) == {VALUE_FIELD}
    return set(data) <= {VALUE_FIELD, TYPE_FIELD} and isinstance(
        data.get(TYPE_FIELD, ''), str
    )


def stored_data(value: str, data_type: str, kv_version: int) -> dict[str, str]:
    """The secret data Imbi writes for a value."""
    if kv_version == 2:
        return {VALUE_FIELD: value}
    return {VALUE_FIELD: value, TYPE_FIELD: data_type}


def data_type(recorded: object, known: typing.Container[str]) -> str:
    """The recorded data type when it is one of ``known``, else secret."""
    if isinstance(recorded, str) and recorded in known:
        return recorded
    return FALLBACK_TYPE


def decode(
    data: dict[str, typing.Any],
    recorded: object,
    kv_version: int,
    known: typing.Container[str],
) -> tuple[str, str]:
    """``(data_type, value)`` of a secret as Imbi shows it."""
    if not owned_by_imbi(data, kv_version):
        return FALLBACK_TYPE, json.dumps(
            data, sort_keys=True, separators=(',', ':'), ensure_ascii=False
        )
    if kv_version == 1:
        recorded = data.get(TYPE_FIELD)
    return data_type(recorded, known), typing.cast(str, data[VALUE_FIELD])

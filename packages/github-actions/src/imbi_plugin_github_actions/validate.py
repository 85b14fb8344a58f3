"""Caller input checks, made before any request goes upstream."""

import json
import re

MAX_COMMITS = 100
#: GitHub takes at most 25 workflow_dispatch inputs (maxProperties).
MAX_INPUTS = 25
_SHA = re.compile(r'[0-9a-fA-F]{7,40}')
_FULL_SHA = re.compile(r'[0-9a-fA-F]{40}')
_PREFIX = re.compile(r'[A-Za-z0-9._/-]{1,255}')
_RUN_ID = re.compile(r'[1-9][0-9]{0,19}')
_FORBIDDEN = re.compile(r'[\x00-\x20\x7f~^:?*\[\\]')
KINDS = ('default', 'branch', 'tag', 'all')


def ref(value: object, what: str = 'ref') -> str:
    """A branch, tag or SHA as git would accept it (check-ref-format)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'{what} must be a non-empty branch, tag or SHA')
    text = value.strip()
    if (
        len(text) > 255
        or _FORBIDDEN.search(text)
        or '..' in text
        or '@{' in text
        or '//' in text
        or '/.' in text  # a component starting with '.' (and /./)
        or text.startswith(('-', '/', '.'))
        or text.endswith(('/', '.', '.lock'))
        or text == '@'
    ):
        raise ValueError(f'{what} {value!r} is not a valid git ref name')
    return text


def is_ref_prefix(value: str) -> bool:
    """A query that can start a ref name (for GitHub's matching-refs)."""
    return (
        _PREFIX.fullmatch(value) is not None
        and '..' not in value
        and '//' not in value
        and '/.' not in value
        and not value.startswith(('/', '.'))
    )


def is_sha(value: str) -> bool:
    """True for a (short) hexadecimal commit id of 7 to 40 digits."""
    return _SHA.fullmatch(value) is not None


def sha(value: object) -> str:
    """A commit SHA (7 to 40 hex digits), lower-cased."""
    if not isinstance(value, str) or not is_sha(value.strip()):
        raise ValueError(f'sha must be 7 to 40 hexadecimal digits: {value!r}')
    return value.strip().lower()


def is_full_sha(value: str) -> bool:
    return _FULL_SHA.fullmatch(value) is not None


def tag(value: object) -> str:
    text = ref(value, 'tag')
    if text.startswith('refs/'):
        raise ValueError(f'tag must be a tag name, not a full ref: {text!r}')
    return text


def limit(value: object, top: int = MAX_COMMITS) -> int:
    """A positive count; larger ones are cut to ``top``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'limit must be a positive integer: {value!r}')
    return min(value, top)


def run_id(value: object) -> str:
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value.strip()):
        raise ValueError(
            f'run_id must be a GitHub workflow run id (a number): {value!r}'
        )
    return value.strip()


def kind(value: object) -> str:
    if value not in KINDS:
        raise ValueError(f'kind must be one of {", ".join(KINDS)}')
    return str(value)


def environments(values: object) -> list[str]:
    """Distinct, non-empty environment names in the caller's order."""
    if not isinstance(values, list) or not all(
        isinstance(v, str) for v in values
    ):
        raise ValueError('environments must be a list of names')
    seen: list[str] = []
    for value in values:
        name = value.strip()
        if not name or len(name) > 255:
            raise ValueError(f'invalid environment name {value!r}')
        if name not in seen:
            seen.append(name)
    return seen


def inputs(values: object) -> dict[str, str]:
    """Workflow inputs, every value as a string."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError('inputs must be a mapping of names to values')
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f'invalid workflow input name {key!r}')
        if isinstance(value, bool):
            out[key] = 'true' if value else 'false'
        elif value is None:
            out[key] = ''
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value)
    return out


def input_count(values: dict[str, str]) -> dict[str, str]:
    """``values`` when GitHub takes that many inputs, else ValueError."""
    if len(values) > MAX_INPUTS:
        raise ValueError(
            f'GitHub takes {MAX_INPUTS} inputs at most per dispatch, '
            f'{len(values)} given (sha and correlation inputs included)'
        )
    return values

"""Check the GitHub stand-in against GitHub's own OpenAPI description.

GitHub publishes its REST API as OpenAPI 3.0 (``@octokit/openapi`` on
npm: api.github.com, GHEC and GHES 3.x). This checks, per description:

- every REST route the stand-in serves exists there with its method;
- every exchange the stand-in answered while the plugin test suites ran
  (recorded with ``IMBI_GITHUB_EXCHANGES``, see
  ``imbi_plugin_testing.fakes.github.core``): the request's query
  parameters and JSON body validate against the operation's parameters
  and request body, and the answer's JSON body against the schema of its
  status: a successful answer whole (every required field, no field the
  schema does not list), an error answer by its fields' types. An error
  status the operation does not list must still have
  GitHub's ``basic-error`` shape.

For a GHES description, an exchange of an operation or status only
api.github.com describes (return_run_details, REST API 2026-03-10) is
counted as github.com-only, not failed: the stand-in serves both.

Usage: ``python scripts/github_openapi.py EXCHANGES DESCRIPTION...``
(``nox -s github_openapi`` fetches the descriptions and runs it). Exit
status 1 with one line per problem when anything does not conform.
"""

import argparse
import collections
import dataclasses
import json
import pathlib
import re
import sys
import typing

import jsonschema.validators
import openapi_schema_validator
import starlette.routing
from imbi_plugin_testing.fakes.github import GitHubFake

#: Served by the stand-in, absent from the description, and why.
UNDOCUMENTED = {
    ('GET', '/repositories/{}'): 'where GitHub redirects renamed and '
    'transferred repositories (301 Location), not described',
    ('PATCH', '/repositories/{}'): 'the same, for a PATCH redirected with 307',
    ('POST', '/repositories/{}/transfer'): 'the same, for a transfer '
    'redirected with 307',
}
#: Not REST: the OAuth web flow and GraphQL.
NOT_REST = re.compile(r'^/(?:api/)?graphql$|^/login/')
#: Query parameters in GitHub's search syntax (``>=2026-11-01T09:00Z``,
#: ``a..b``), which the description types by the bare value only.
SEARCH_SYNTAX = {'created'}
_QUALIFIER = re.compile(r'^(?:>=|<=|>|<)')
#: Path parameters that may hold slashes (git refs, compare ranges).
#: Anywhere in the template: /commits/{ref}/check-runs takes a branch
#: ``feature/login`` as well.
SLASHED = re.compile(r'\{(?:ref|basehead|branch|tag)\}')
_PARAM = re.compile(r'\{[^}/]+\}')


@dataclasses.dataclass
class Operation:
    method: str
    template: str
    spec: dict[str, typing.Any]


class Description:
    """One OpenAPI description, its operations found by request path."""

    def __init__(self, path: pathlib.Path) -> None:
        self.name = path.name.removesuffix('.json')
        self.document = json.loads(path.read_text(encoding='utf-8'))
        self.components = self.document.get('components', {})
        self._routes: list[tuple[int, re.Pattern[str], str]] = []
        for template in self.document['paths']:
            literal = len(_PARAM.sub('', template))
            pattern = ''.join(
                _segment(part) for part in re.split(r'(\{[^}]+\})', template)
            )
            self._routes.append((literal, re.compile(pattern + '$'), template))
        # The most literal template wins (/git/matching-refs/{ref} over
        # /git/{anything}).
        self._routes.sort(key=lambda route: -route[0])
        self._validators: dict[str, typing.Any] = {}

    @property
    def is_github_com(self) -> bool:
        return self.name.startswith('api.github.com')

    def templates(self) -> dict[str, set[str]]:
        """Normalised template ({} for each parameter) -> methods."""
        found: dict[str, set[str]] = collections.defaultdict(set)
        for template, item in self.document['paths'].items():
            found[_PARAM.sub('{}', template)].update(
                m.upper() for m in item if m != 'parameters'
            )
        return found

    def operation(self, method: str, path: str) -> Operation | None:
        for _, pattern, template in self._routes:
            if pattern.match(path):
                spec = self.document['paths'][template].get(method.lower())
                if spec is not None:
                    return Operation(method, template, spec)
        return None

    def resolve(self, node: typing.Any) -> typing.Any:
        """A ``$ref`` to components followed (one level, repeatedly)."""
        while isinstance(node, dict) and '$ref' in node:
            target: typing.Any = self.document
            for part in node['$ref'].removeprefix('#/').split('/'):
                target = target[part]
            node = target
        return node

    def validator(
        self,
        key: str,
        schema: dict[str, typing.Any],
        *,
        complete: bool = True,
        names: bool = False,
    ) -> typing.Any:
        """An OAS 3.0 validator of ``schema`` ($refs into components).

        ``complete=False`` leaves out ``required`` (error answers): what
        they send must have GitHub's types, formats, enums and
        nullability. ``names=True``
        also refuses a property the schema does not list (where it says
        nothing of additionalProperties): without ``required``, a field
        the stand-in sends under a wrong name would pass otherwise.
        """
        cache = f'{key}:{complete}:{names}'
        found = self._validators.get(cache)
        if found is None:
            cls = (
                openapi_schema_validator.OAS30WriteValidator
                if key.startswith('request')
                else openapi_schema_validator.OAS30ReadValidator
            )
            if not complete:
                # Without ``required``, an answer may fit several oneOf
                # branches (private-user and public-user): any one will do.
                cls = _extend(
                    cls,
                    {'required': _nothing, 'oneOf': cls.VALIDATORS['anyOf']},
                )
            cls = _extend(cls, {'enum': _enum})
            if names:
                cls = _extend(cls, {'properties': _properties})
            root = {'allOf': [schema], 'components': self.components}
            found = cls(
                root,
                format_checker=openapi_schema_validator.oas30_format_checker,
            )
            self._validators[cache] = found
        return found


def _extend(cls: typing.Any, keywords: dict[str, typing.Any]) -> typing.Any:
    extend: typing.Any = jsonschema.validators.extend
    return extend(cls, keywords)


_BASE_ENUM = openapi_schema_validator.OAS30Validator.VALIDATORS['enum']


def _nothing(*args: typing.Any) -> typing.Iterator[typing.Any]:
    return iter(())


def _enum(
    validator: typing.Any,
    enums: list[typing.Any],
    instance: typing.Any,
    schema: dict[str, typing.Any],
) -> typing.Iterator[typing.Any]:
    """``enum`` where ``nullable: true`` also admits null.

    GitHub's description marks such fields (a check run's ``conclusion``)
    nullable without listing null among the values; GitHub sends null.
    """
    if instance is None and schema.get('nullable'):
        return
    default: typing.Any = _BASE_ENUM
    yield from default(validator, enums, instance, schema) or ()


_BASE_PROPERTIES = openapi_schema_validator.OAS30Validator.VALIDATORS[
    'properties'
]


def _properties(
    validator: typing.Any,
    properties: dict[str, typing.Any],
    instance: typing.Any,
    schema: dict[str, typing.Any],
) -> typing.Iterator[typing.Any]:
    """``properties``, and no property it does not list."""
    default: typing.Any = _BASE_PROPERTIES
    yield from default(validator, properties, instance, schema) or ()
    if isinstance(instance, dict) and 'additionalProperties' not in schema:
        for name in sorted(set(instance) - set(properties)):
            yield jsonschema.ValidationError(f'{name!r} is not described')


def _segment(part: str) -> str:
    if SLASHED.fullmatch(part):
        return '.+'
    return '[^/]+' if part.startswith('{') else re.escape(part)


def _errors(validator: typing.Any, value: typing.Any) -> list[str]:
    return [
        f'{"/".join(map(str, e.absolute_path)) or "(body)"}: {e.message[:200]}'
        for e in sorted(validator.iter_errors(value), key=str)[:3]
    ]


def stand_in_routes() -> set[tuple[str, str]]:
    """(METHOD, normalised template) of every REST route served."""
    served = set()
    for route in GitHubFake().routes():
        if not isinstance(route, starlette.routing.Route):
            continue
        path = route.path.removeprefix('/api/v3')
        if NOT_REST.search(path):
            continue
        template = re.sub(r'\{[^}]+\}', '{}', path)
        for method in route.methods or ():
            if method != 'HEAD':
                served.add((method, template))
    return served


def check_routes(description: Description) -> list[str]:
    documented = description.templates()
    problems = []
    for method, template in sorted(stand_in_routes()):
        if (method, template) in UNDOCUMENTED:
            continue
        if method not in documented.get(template, set()):
            problems.append(
                f'route {method} {template}: not in {description.name}'
            )
    return problems


def _coerce(value: str, schema: dict[str, typing.Any]) -> typing.Any:
    kind = schema.get('type')
    try:
        if kind == 'integer':
            return int(value)
        if kind == 'number':
            return float(value)
    except ValueError:
        return value
    if kind == 'boolean':
        return {'true': True, 'false': False}.get(value, value)
    return value


class Counts(collections.Counter[str]):
    pass


def check_exchange(
    description: Description,
    exchange: dict[str, typing.Any],
    counts: Counts,
) -> list[str]:
    method, path = exchange['method'], exchange['path']
    path = path.removeprefix('/api/v3')
    if NOT_REST.search(path):
        counts['not REST'] += 1
        return []
    where = f'{method} {path} -> {exchange["status"]}'
    operation = description.operation(method, path)
    if operation is None:
        template = re.sub(r'/\d+(?=/|$)', '/{}', path)
        if (method, template) in UNDOCUMENTED:
            counts['undocumented route'] += 1
            return []
        if not description.is_github_com:
            counts['github.com only'] += 1
            return []
        return [f'{where}: no such operation in {description.name}']
    problems = _check_request(description, operation, exchange)
    problems += _check_response(description, operation, exchange, counts)
    counts['checked'] += 1
    return [f'{where}: {p}' for p in problems]


def _check_request(
    description: Description,
    operation: Operation,
    exchange: dict[str, typing.Any],
) -> list[str]:
    problems = []
    parameters = {}
    for raw in operation.spec.get('parameters', []) + description.document[
        'paths'
    ][operation.template].get('parameters', []):
        parameter = description.resolve(raw)
        if parameter.get('in') == 'query':
            parameters[parameter['name']] = parameter
    query = collections.defaultdict(list)
    for pair in exchange['query'].split('&') if exchange['query'] else []:
        name, _, value = pair.partition('=')
        query[_unquote(name)].append(_unquote(value))
    for name, values in query.items():
        parameter = parameters.get(name)
        if parameter is None:
            problems.append(f'query parameter {name!r} is not described')
            continue
        schema = description.resolve(parameter.get('schema', {}))
        validator = description.validator(
            f'request:{operation.template}:{name}', schema
        )
        for value in values:
            if name in SEARCH_SYNTAX:
                value = _QUALIFIER.sub('', value)
            for error in _errors(validator, _coerce(value, schema)):
                problems.append(f'query {name}={value!r}: {error}')
    for name, parameter in parameters.items():
        if parameter.get('required') and name not in query:
            problems.append(f'required query parameter {name!r} missing')
    body = exchange['request_body']
    described = description.resolve(operation.spec.get('requestBody', {}))
    content = described.get('content', {}).get('application/json')
    if body and 'json' in exchange['request_type'] and content is None:
        problems.append('a JSON body where none is described')
    elif body and content is not None:
        try:
            value = json.loads(body)
        except ValueError:
            problems.append('request body is not JSON')
        else:
            validator = description.validator(
                f'request:{operation.method}:{operation.template}',
                content.get('schema', {}),
            )
            problems += [f'request {e}' for e in _errors(validator, value)]
    elif not body and content is not None and described.get('required'):
        problems.append('required request body missing')
    return problems


def _check_response(
    description: Description,
    operation: Operation,
    exchange: dict[str, typing.Any],
    counts: Counts,
) -> list[str]:
    status = str(exchange['status'])
    responses = operation.spec.get('responses', {})
    described = responses.get(status)
    if described is None:
        if exchange['status'] < 400:
            if not description.is_github_com:
                counts['github.com only'] += 1
                return []
            return [f'status {status} is not described']
        counts['undescribed error status'] += 1
        schema: dict[str, typing.Any] | None = {
            '$ref': '#/components/schemas/basic-error'
        }
        key = 'response:basic-error'
    else:
        content = description.resolve(described).get('content', {})
        json_content = next(
            (v for k, v in content.items() if 'json' in k), None
        )
        schema = json_content.get('schema') if json_content else None
        key = f'response:{operation.method}:{operation.template}:{status}'
    body = exchange['response_body']
    if schema is None or not body or 'json' not in exchange['response_type']:
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return ['response body is not JSON']
    # A successful answer is GitHub's object, whole: every field the
    # description requires, none it does not list. Error answers carry
    # more than GitHub describes (``errors``, ``status``) and GitHub's
    # own leave out what basic-error lists: their fields are held to the
    # types only.
    success = exchange['status'] < 400
    validator = description.validator(
        key, schema, complete=success, names=success
    )
    return [f'response {e}' for e in _errors(validator, value)]


def _unquote(text: str) -> str:
    import urllib.parse

    return urllib.parse.unquote_plus(text)


_ORG = {
    'login': 'o',
    'id': 1,
    'node_id': 'O_1',
    'url': 'https://api.github.com/orgs/o',
    'repos_url': 'https://api.github.com/orgs/o/repos',
    'events_url': 'https://api.github.com/orgs/o/events',
    'hooks_url': 'https://api.github.com/orgs/o/hooks',
    'issues_url': 'https://api.github.com/orgs/o/issues',
    'members_url': 'https://api.github.com/orgs/o/members{/member}',
    'public_members_url': 'https://api.github.com/orgs/o/public_members'
    '{/member}',
    'avatar_url': 'https://avatars.githubusercontent.com/u/1',
    'description': None,
}
_ORGS = {
    'method': 'GET',
    'path': '/user/orgs',
    'query': '',
    'request_type': '',
    'request_body': '',
    'status': 200,
    'response_type': 'application/json',
}
#: Exchanges the check must fail (each for one reason): a check that
#: passes them is broken, whatever it says about the stand-in.
_MUST_FAIL = [
    {
        'method': 'POST',
        'path': '/repos/o/r/actions/workflows/d.yml/dispatches',
        'query': '',
        'request_type': 'application/json',
        'request_body': '{"ref": 1}',
        'status': 204,
        'response_type': '',
        'response_body': '',
    },
    {
        'method': 'GET',
        'path': '/repos/o/r/actions/runs/5',
        'query': 'no_such_parameter=1',
        'request_type': '',
        'request_body': '',
        'status': 200,
        'response_type': 'application/json',
        'response_body': '{}',
    },
    {
        'method': 'GET',
        'path': '/repos/o/r/actions/runs/5',
        'query': '',
        'request_type': '',
        'request_body': '',
        'status': 200,
        'response_type': 'application/json',
        'response_body': '{"id": "not a number"}',
    },
    {
        'method': 'GET',
        'path': '/repos/o/r/branches/main',
        'query': '',
        'request_type': '',
        'request_body': '',
        'status': 404,
        'response_type': 'application/json',
        'response_body': '{"message": 404}',
    },
    {
        # A branch with a slash before /check-runs: not the commit route.
        'method': 'GET',
        'path': '/repos/o/r/commits/feature/login/check-runs',
        'query': '',
        'request_type': '',
        'request_body': '',
        'status': 200,
        'response_type': 'application/json',
        'response_body': '{"total_count": "many", "check_runs": []}',
    },
    {
        # A field under a name GitHub does not send (head_sha misspelt).
        'method': 'GET',
        'path': '/repos/o/r/actions/runs/5',
        'query': '',
        'request_type': '',
        'request_body': '',
        'status': 200,
        'response_type': 'application/json',
        'response_body': '{"id": 5, "head_shaa": "abc"}',
    },
    {
        # An organization without one URL field GitHub always sends.
        **_ORGS,
        'response_body': json.dumps(
            [{k: v for k, v in _ORG.items() if k != 'hooks_url'}]
        ),
    },
]
#: Exchanges the check must pass: the controls of _MUST_FAIL's last one
#: (it fails for the field it leaves out, not for something else).
_MUST_PASS = [{**_ORGS, 'response_body': json.dumps([_ORG])}]


def self_check(description: Description) -> list[str]:
    """Problems with the check itself (a known-bad exchange passed, a
    known-good one failed)."""
    return [
        f'self-check: {e["method"]} {e["path"]} {e["query"]} passed'
        for e in _MUST_FAIL
        if not check_exchange(description, e, Counts())
    ] + [
        f'self-check: {e["method"]} {e["path"]} failed: {problem}'
        for e in _MUST_PASS
        for problem in check_exchange(description, e, Counts())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('exchanges', type=pathlib.Path)
    parser.add_argument('descriptions', type=pathlib.Path, nargs='+')
    args = parser.parse_args(argv)
    exchanges = [
        json.loads(line)
        for line in args.exchanges.read_text(encoding='utf-8').splitlines()
        if line.strip()
    ]
    failed = False
    for path in args.descriptions:
        description = Description(path)
        counts = Counts()
        problems = self_check(description) + check_routes(description)
        for exchange in exchanges:
            problems += check_exchange(description, exchange, counts)
        if not counts['checked']:
            problems.append('no exchange was checked')
        unique = sorted(set(problems))
        summary = ', '.join(f'{v} {k}' for k, v in sorted(counts.items()))
        print(
            f'{description.name}: {len(exchanges)} exchanges ({summary}); '
            f'{len(unique)} problem(s)'
        )
        for problem in unique:
            print(f'  {problem}')
        failed = failed or bool(unique)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

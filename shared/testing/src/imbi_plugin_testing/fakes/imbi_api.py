"""Stand-in for the Imbi API's project PATCH (RFC 6902 JSON Patch).

``PATCH /organizations/{org_slug}/projects/{project_id}`` with a JSON
Patch list, ``Authorization: Bearer ik_<id>_<secret>``
(docs/upstreams/host.md).
Answers in FastAPI's shapes: ``{"detail": "..."}`` for 401 (unknown or
absent key), 403 (key without ``project:write``), 404 (no such project)
and 400 (a patch that is not valid RFC 6902, a path that does not
resolve, or a read-only path), and ``{"detail": [{"loc", "msg",
"type"}]}`` for 422 (a body that is not a JSON list, or a patched
document whose typed fields no longer validate). The patch is applied
with ``jsonpatch`` to a stored project document, atomically.
"""

import copy
import dataclasses
import datetime
import json
import secrets
import typing

import jsonpatch
import jsonpointer
import starlette.requests
import starlette.responses
import starlette.routing

from imbi_plugin_testing.standin import StandIn

#: Top-level members of a project the API computes or manages elsewhere.
READ_ONLY = frozenset(
    {
        'id',
        'created_at',
        'updated_at',
        'team',
        'project_types',
        'relationships',
        'dependency_uris',
    }
)
_OPERATIONS = ('add', 'remove', 'replace', 'move', 'copy', 'test')


@dataclasses.dataclass
class ApiKey:
    value: str
    permissions: set[str]


class ImbiApiFake(StandIn):
    """The Imbi API stand-in: projects as JSON documents.

    ``field_types`` maps a JSON pointer to the JSON types its value may
    have after a patch (as a blueprint schema would), e.g.
    ``{'/sonar_coverage': (int, float)}``; a mismatch answers 422.
    """

    def __init__(self) -> None:
        super().__init__()
        self.projects: dict[tuple[str, str], dict[str, typing.Any]] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.field_types: dict[str, tuple[type, ...]] = {}

    def add_project(
        self, org_slug: str, project_id: str, **fields: typing.Any
    ) -> dict[str, typing.Any]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        document: dict[str, typing.Any] = {
            'id': project_id,
            'name': project_id,
            'slug': project_id,
            'created_at': now,
            'updated_at': now,
            'team': {'slug': 'team', 'organization': {'slug': org_slug}},
            'project_types': [],
            'links': {},
            'identifiers': {},
        }
        document.update(fields)
        self.projects[(org_slug, project_id)] = document
        return document

    def project(self, org_slug: str, project_id: str) -> dict[str, typing.Any]:
        return self.projects[(org_slug, project_id)]

    def issue_api_key(
        self, permissions: tuple[str, ...] = ('project:read', 'project:write')
    ) -> str:
        key_id = secrets.token_hex(6)
        value = f'ik_{key_id}_{secrets.token_urlsafe(24)}'
        self.api_keys[value] = ApiKey(value, set(permissions))
        return value

    # -- plumbing -------------------------------------------------------------

    @staticmethod
    def detail(
        status: int, detail: typing.Any
    ) -> starlette.responses.Response:
        return starlette.responses.JSONResponse(
            {'detail': detail}, status_code=status
        )

    def routes(self) -> list[starlette.routing.BaseRoute]:
        return [
            starlette.routing.Route(
                '/organizations/{org_slug}/projects/{project_id}',
                self.project_endpoint,
                methods=['GET', 'PATCH'],
            )
        ]

    def _authorize(
        self, request: starlette.requests.Request, permission: str
    ) -> starlette.responses.Response | None:
        scheme, _, value = request.headers.get('authorization', '').partition(
            ' '
        )
        if scheme.lower() != 'bearer' or not value:
            return self.detail(401, 'Not authenticated')
        key = self.api_keys.get(value.strip())
        if key is None:
            return self.detail(401, 'Invalid API key')
        if permission not in key.permissions:
            return self.detail(
                403, f'Permission denied: {permission} required'
            )
        return None

    async def project_endpoint(
        self, request: starlette.requests.Request
    ) -> starlette.responses.Response:
        org_slug = request.path_params['org_slug']
        project_id = request.path_params['project_id']
        permission = (
            'project:read' if request.method == 'GET' else 'project:write'
        )
        refused = self._authorize(request, permission)
        if refused is not None:
            return refused
        document = self.projects.get((org_slug, project_id))
        if document is None:
            return self.detail(404, f'Project {project_id!r} not found')
        if request.method == 'GET':
            return starlette.responses.JSONResponse(document)
        operations = await self._patch_body(request)
        if isinstance(operations, starlette.responses.Response):
            return operations
        for operation in operations:
            problem = _operation_problem(operation)
            if problem is not None:
                return self.detail(400, problem)
        try:
            patched = jsonpatch.apply_patch(
                copy.deepcopy(document), operations
            )
        except (
            jsonpatch.JsonPatchException,
            jsonpointer.JsonPointerException,
        ) as exc:
            return self.detail(400, f'Invalid JSON Patch: {exc}')
        errors = self._type_errors(patched)
        if errors:
            return self.detail(422, errors)
        patched['updated_at'] = datetime.datetime.now(datetime.UTC).isoformat()
        self.projects[(org_slug, project_id)] = patched
        return starlette.responses.JSONResponse(patched)

    async def _patch_body(
        self, request: starlette.requests.Request
    ) -> list[typing.Any] | starlette.responses.Response:
        media_type = request.headers.get('content-type', '').split(';')[0]
        body = await request.body()
        if not (
            media_type == 'application/json' or media_type.endswith('+json')
        ):
            # FastAPI does not parse a body it is not told is JSON.
            return self.detail(
                422,
                [
                    {
                        'type': 'list_type',
                        'loc': ['body'],
                        'msg': 'Input should be a valid list',
                        'input': body.decode('utf-8', 'replace'),
                    }
                ],
            )
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            return self.detail(
                422,
                [
                    {
                        'type': 'json_invalid',
                        'loc': ['body', getattr(exc, 'pos', 0)],
                        'msg': 'JSON decode error',
                        'input': {},
                    }
                ],
            )
        if not isinstance(parsed, list):
            return self.detail(
                422,
                [
                    {
                        'type': 'list_type',
                        'loc': ['body'],
                        'msg': 'Input should be a valid list',
                        'input': parsed,
                    }
                ],
            )
        return parsed

    def _type_errors(
        self, document: dict[str, typing.Any]
    ) -> list[dict[str, typing.Any]]:
        errors = []
        for pointer, types in self.field_types.items():
            value = jsonpointer.resolve_pointer(document, pointer, None)
            if value is None:
                continue
            # bool is an int subclass; JSON keeps them apart.
            if isinstance(value, bool) and bool not in types:
                ok = False
            else:
                ok = isinstance(value, types)
            if not ok:
                errors.append(
                    {
                        'type': 'type_error',
                        'loc': [
                            'body',
                            *jsonpointer.JsonPointer(pointer).parts,
                        ],
                        'msg': (
                            'Input should be '
                            + ' or '.join(t.__name__ for t in types)
                        ),
                        'input': value,
                    }
                )
        return errors


def _operation_problem(operation: typing.Any) -> str | None:
    """Why one operation is refused before it is applied, if it is."""
    if not isinstance(operation, dict):
        return f'Invalid JSON Patch operation: {operation!r}'
    op = operation.get('op')
    if op not in _OPERATIONS:
        return f'Invalid JSON Patch operation: {op!r}'
    members = ['path', 'from'] if op in ('move', 'copy') else ['path']
    # A move also removes its source, so both ends must be writable.
    written = ['path', 'from'] if op == 'move' else ['path']
    for member in members:
        path = operation.get(member)
        if not isinstance(path, str):
            return f'Invalid JSON Patch {member}: {path!r}'
        try:
            parts = jsonpointer.JsonPointer(path).parts
        except jsonpointer.JsonPointerException as exc:
            return f'Invalid JSON Patch {member} {path!r}: {exc}'
        if member in written and (not parts or parts[0] in READ_ONLY):
            return f'Path {path!r} is read-only'
    return None

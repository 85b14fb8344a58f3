"""Test harness for Imbi plugins: host model, contract suite, stand-ins.

Never imported by plugin code: plugins depend on imbi-common and their
upstream client only.
"""

from imbi_plugin_testing.context import (
    ContextKind,
    credentials,
    make_context,
)
from imbi_plugin_testing.contract import (
    ContractSpec,
    ContractViolation,
    check_plugin_contract,
    check_plugin_contract_async,
)
from imbi_plugin_testing.host import Host, HostResponse
from imbi_plugin_testing.registry import installed
from imbi_plugin_testing.secrets import SecretLeak, SecretScan
from imbi_plugin_testing.standin import (
    Fault,
    RecordedRequest,
    StallServer,
    StandIn,
)
from imbi_plugin_testing.tls import ServerTLS, make_server_tls

__all__ = [
    'ContextKind',
    'ContractSpec',
    'ContractViolation',
    'Fault',
    'Host',
    'HostResponse',
    'RecordedRequest',
    'SecretLeak',
    'SecretScan',
    'ServerTLS',
    'StallServer',
    'StandIn',
    'check_plugin_contract',
    'check_plugin_contract_async',
    'credentials',
    'installed',
    'make_context',
    'make_server_tls',
]

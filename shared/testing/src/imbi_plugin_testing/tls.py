"""TLS for stand-ins: a throw-away CA and a certificate for 127.0.0.1.

For tests of what a plugin does with TLS (CA bundles, verification
switched off, untrusted certificates) against a real handshake.
"""

import dataclasses
import pathlib


@dataclasses.dataclass(frozen=True)
class ServerTLS:
    """Files of a stand-in's TLS identity and of the CA that issued it."""

    #: The server's certificate chain (PEM), for the server.
    cert_file: pathlib.Path
    #: The server's private key (PEM), for the server.
    key_file: pathlib.Path
    #: The issuing CA's certificate (PEM): what a client must trust.
    ca_file: pathlib.Path


def make_server_tls(directory: pathlib.Path) -> ServerTLS:
    """A fresh CA and a certificate for 127.0.0.1 and localhost."""
    # Imported here: cryptography is heavy and most runs never need it.
    import trustme

    authority = trustme.CA()
    leaf = authority.issue_cert('127.0.0.1', 'localhost')
    tls = ServerTLS(
        cert_file=directory / 'server.pem',
        key_file=directory / 'server.key',
        ca_file=directory / 'ca.pem',
    )
    leaf.cert_chain_pems[0].write_to_path(str(tls.cert_file))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(tls.cert_file), append=True)
    leaf.private_key_pem.write_to_path(str(tls.key_file))
    authority.cert_pem.write_to_path(str(tls.ca_file))
    return tls

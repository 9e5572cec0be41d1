"""TLS for the SDK's channel to batond (docs/tls.md).

`make_channel` is the one place the SDK makes its gRPC channel: plaintext when no CA file is
named (neither `ca_file`, $BATON_CA_FILE nor the credentials file's "ca_file"), else TLS trusting that CA, and mutual TLS when a
client certificate and key are named too (`cert_file`/`key_file`, $BATON_CERT_FILE and
$BATON_KEY_FILE), e.g. one made with `baton cert issue`.
"""

from __future__ import annotations

import os
from typing import Optional

import grpc

from baton.auth import credentials_ca_file
from baton.errors import InvalidArgument


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InvalidArgument(f"{what}: cannot read {path}: {e.strerror}") from None


def make_channel(server: str, *, ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None) -> grpc.Channel:
    """A channel to `server` ("host:port"); see the module's docstring for the TLS rules."""
    ca_file = ca_file or os.environ.get("BATON_CA_FILE") or credentials_ca_file() or None
    cert_file = cert_file or os.environ.get("BATON_CERT_FILE") or None
    key_file = key_file or os.environ.get("BATON_KEY_FILE") or None
    if not ca_file:
        if cert_file or key_file:
            raise InvalidArgument("ca_file: required with cert_file/key_file (TLS)")
        return grpc.insecure_channel(server)
    if bool(cert_file) != bool(key_file):
        raise InvalidArgument("cert_file and key_file: give both or neither")
    creds = grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file, "ca_file"),
        private_key=_read(key_file, "key_file") if key_file else None,
        certificate_chain=_read(cert_file, "cert_file") if cert_file else None)
    return grpc.secure_channel(server, creds)

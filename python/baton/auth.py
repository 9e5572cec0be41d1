"""Credentials: where the SDK finds its API token, and the channel interceptor that sends it.

batond answers nothing without a token (docs/security.md). A Client's token is, in this
order: the `token=` argument, $BATON_TOKEN, the credentials file that `baton login` (and
`baton up`) write: $BATON_CREDENTIALS, else $XDG_CONFIG_HOME/baton/credentials, else
~/.config/baton/credentials, JSON {"server": "host:port", "token": "baton_..."}, mode
0600. The file's server is also the default address when neither `server=` nor
$BATON_SERVER says. The CLI reads the same file (src/baton/auth/credentials.h).
"""

from __future__ import annotations

import collections
import json
import os
from typing import Optional, Tuple

import grpc


def credentials_path() -> str:
    """Where `baton login` keeps the credentials ("" when no home is known)."""
    if os.environ.get("BATON_CREDENTIALS"):
        return os.environ["BATON_CREDENTIALS"]
    if os.environ.get("XDG_CONFIG_HOME"):
        return os.path.join(os.environ["XDG_CONFIG_HOME"], "baton", "credentials")
    if os.environ.get("HOME"):
        return os.path.join(os.environ["HOME"], ".config", "baton", "credentials")
    return ""


def load_credentials() -> Tuple[str, str]:
    """(server, token) from the credentials file; ("", "") when there is none or it is not
    one `baton login` wrote."""
    path = credentials_path()
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    server, token = data.get("server", ""), data.get("token", "")
    return (server if isinstance(server, str) else "", token if isinstance(token, str) else "")


def credentials_ca_file() -> str:
    """The CA file the credentials file names for TLS (`baton up` records its CA); "" when
    none."""
    try:
        with open(credentials_path()) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return ""
    ca = data.get("ca_file", "") if isinstance(data, dict) else ""
    return ca if isinstance(ca, str) else ""


def resolve_token(token: Optional[str]) -> str:
    """The token a Client uses: the argument, $BATON_TOKEN, else the credentials file's."""
    if token:
        return token
    if os.environ.get("BATON_TOKEN"):
        return os.environ["BATON_TOKEN"]
    return load_credentials()[1]


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                         "compression")), grpc.ClientCallDetails):
    pass


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                  grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds "authorization: Bearer <token>" to every call of a channel."""

    def __init__(self, token: str):
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, d):
        metadata = list(d.metadata or []) + [self._header]
        return _CallDetails(d.method, d.timeout, metadata, d.credentials,
                            getattr(d, "wait_for_ready", None), getattr(d, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


__all__ = ["credentials_path", "load_credentials", "resolve_token", "BearerToken"]

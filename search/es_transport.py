"""HTTP transport options for the Elasticsearch backend.

The official 8.x client sends ``application/vnd.elasticsearch+json; compatible-with=8`` as
Content-Type and Accept. Elasticsearch 8 needs nothing else, but OpenSearch-compatible servers
(and the in-memory ``osmem-server`` the test-suite runs on) answer 406 to that media type.
``PlainJsonHttpNode`` sends the plain ``application/json`` / ``application/x-ndjson`` types
instead. It is off by default and switched on by ``CITYRADAR_ES_PLAIN_JSON=1`` or by the store
URL option ``?compat=plain`` (see docs/production.md).
"""

from __future__ import annotations

import os
import re
from typing import Any

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node._base import NodeApiResponse

PLAIN_JSON_ENV = "CITYRADAR_ES_PLAIN_JSON"

_VENDOR_MEDIA_TYPE = re.compile(
    r"application/vnd\.elasticsearch\+([\w-]+)(\s*;\s*compatible-with=\d+)?"
)


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+x-ndjson; compatible-with=8`` -> ``application/x-ndjson``."""
    return _VENDOR_MEDIA_TYPE.sub(lambda m: f"application/{m.group(1)}", value)


class PlainJsonHttpNode(Urllib3HttpNode):
    """A urllib3 node that rewrites the client's vendor media types to plain JSON ones."""

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        **kwargs: Any,
    ) -> NodeApiResponse:
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = plain_media_type(headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


def plain_json_wanted(url_option: str | None = None) -> bool:
    """Whether to use :class:`PlainJsonHttpNode`: URL option ``compat`` wins over the env."""
    if url_option is not None:
        return url_option.strip().lower() == "plain"
    return os.environ.get(PLAIN_JSON_ENV, "").strip().lower() in {"1", "true", "yes", "on"}

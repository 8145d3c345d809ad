"""Connecting to Temporal with the pydantic converter and the payload codec, and the custom search attributes."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from infra.codec import data_converter
from infra.config import Settings
from infra.runtime import sdk_runtime
from infra.tracing import client_interceptors

# name -> type; registered by `partnerflow dev` (on the command line) and by the worker.
SEARCH_ATTRIBUTES: dict[str, IndexedValueType.ValueType] = {
    "PartnerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CustomerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "BusinessStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


class TemporalConnectError(Exception):
    """The Temporal server could not be reached with the configured address and security."""


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS setting: a ``TLSConfig`` when any TLS setting or an API key is set.

    An API key alone turns TLS on with the system's root certificates (Temporal Cloud): a key
    sent in clear text would be a credential handed to anyone on the path.
    """
    ca, cert, key = settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key
    wanted = (ca, cert, key, settings.temporal_tls_server_name, settings.temporal_api_key)
    if all(v is None for v in wanted):
        return False
    return TLSConfig(
        server_root_ca_cert=ca.read_bytes() if ca else None,
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
        domain=settings.temporal_tls_server_name or None,
    )


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client for the configured server and namespace, over TLS / mTLS when configured,
    with the tracing interceptor; the worker passes the runtime that serves the SDK metrics."""
    tls = tls_config(settings)
    api_key = settings.temporal_api_key
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings),
            tls=tls,
            api_key=api_key.get_secret_value() if api_key else None,
            runtime=runtime or sdk_runtime(),
            interceptors=client_interceptors(),
        )
    except RuntimeError as exc:
        how = "over TLS" if tls else "without TLS"
        raise TemporalConnectError(
            f"cannot connect to Temporal at {settings.temporal_address} {how}: {exc}"
            + (
                " (check that the server speaks TLS, and PARTNERFLOW_TEMPORAL_TLS_* settings)"
                if tls
                else ""
            )
        ) from exc


async def ensure_search_attributes(client: Client) -> list[str]:
    """Registers the custom search attributes that are missing; returns those added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        name: kind
        for name, kind in SEARCH_ATTRIBUTES.items()
        if name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def index_attributes(
    *, partner_id: str | None = None, customer_id: str | None = None
) -> TypedSearchAttributes:
    """The search attributes a starter sets, so that the workflow can be found by party."""
    pairs: list[SearchAttributePair[str]] = []
    if partner_id:
        pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword("PartnerId"), partner_id))
    if customer_id:
        pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword("CustomerId"), customer_id))
    return TypedSearchAttributes(pairs)

"""Connecting to Temporal with the pydantic converter, and the custom search attributes."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from infra.config import Settings
from infra.runtime import sdk_runtime
from infra.tracing import client_interceptors

# name -> type; registered by `partnerflow dev` (on the command line) and by the worker.
SEARCH_ATTRIBUTES: dict[str, IndexedValueType.ValueType] = {
    "PartnerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CustomerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "BusinessStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client for the configured server and namespace (tracing interceptor included);
    the worker passes the runtime that serves the SDK metrics."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime or sdk_runtime(),
        interceptors=client_interceptors(),
    )


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

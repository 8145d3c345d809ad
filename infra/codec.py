"""Encrypted payloads: every workflow input, result, signal, update and failure that PartnerFlow
puts into Temporal is AES-256-GCM encrypted, so histories (and whoever reads them in the UI or
through the API) hold no names, email addresses, bank accounts or invoice details in clear.

Keys come from ``PARTNERFLOW_CODEC_KEYS`` (``id1:base64key,id2:base64key``): the first encodes,
all of them decode, so a key is rotated by putting a new one first and keeping the old one
until no open workflow or kept history needs it. Each encrypted payload names its key in the
``encryption-key-id`` metadata. Development and tests use a fixed, public dev key; production
refuses it (infra/config.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from infra.config import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32  # AES-256
SETTING = "PARTNERFLOW_CODEC_KEYS"
# The development and test key: in the repository, hence no secret at all. Production refuses it.
DEV_KEY_ID = "dev"
DEV_KEY = base64.b64decode("UGFydG5lckZsb3cgZGV2IGtleSwgbm8gc2VjcmV0ISE=")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecKeyError(ValueError):
    """``PARTNERFLOW_CODEC_KEYS`` cannot be used (the message names the setting and why)."""


class UnknownCodecKeyError(Exception):
    """A payload was encrypted with a key this process does not hold."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """``id1:base64key,id2:base64key`` -> ordered {id: 32-byte key}; the first is the active one."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise CodecKeyError(
                f"{SETTING}: each entry is <id>:<base64 key> with an id of letters, digits, "
                f"'.', '_' or '-' (found an entry starting {item[:8]!r}...)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise CodecKeyError(f"{SETTING}: the key of {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise CodecKeyError(
                f"{SETTING}: the key of {key_id!r} is {len(key)} bytes; AES-256 needs 32 "
                "(e.g. `python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())'`)"
            )
        if key_id in keys:
            raise CodecKeyError(f"{SETTING}: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise CodecKeyError(f"{SETTING} is empty: give at least one <id>:<base64 key>")
    return keys


def dev_keys() -> dict[str, bytes]:
    """The fixed development key (dev stack and tests)."""
    return {DEV_KEY_ID: DEV_KEY}


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole payload (metadata and data), tagged with its key id."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise CodecKeyError(f"{SETTING}: no key")
        self.active_key_id = next(iter(keys))
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypts every payload with the active key."""
        key_id = self.active_key_id
        cipher = self._ciphers[key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated too: a payload relabelled to another key fails.
            sealed = cipher.encrypt(nonce, p.SerializeToString(), key_id.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypts encrypted payloads; others (written before encryption) pass unchanged."""
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            key_id = p.metadata.get(KEY_ID_METADATA, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise UnknownCodecKeyError(
                    f"payload encrypted with key {key_id!r}, which is not in {SETTING} "
                    f"(this process holds {sorted(self._ciphers)}): a retired key is still needed"
                )
            try:
                plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], key_id.encode())
            except InvalidTag:
                raise UnknownCodecKeyError(
                    f"payload with key id {key_id!r} does not decrypt: {SETTING} holds a "
                    "different key under that id"
                ) from None
            out.append(Payload.FromString(plain))
        return out


def codec_keys(settings: Settings) -> dict[str, bytes]:
    """The configured keys, or the dev key outside production when none are set.

    Settings validation already refuses production without keys or with the dev key.
    """
    if settings.codec_keys is None:
        return dev_keys()
    return parse_keys(settings.codec_keys.get_secret_value())


def codec(settings: Settings) -> EncryptionCodec:
    """The payload codec for ``settings``."""
    return EncryptionCodec(codec_keys(settings))


def data_converter(settings: Settings) -> DataConverter:
    """The one data converter of every client, worker, replayer, test and benchmark:
    pydantic payloads, encrypted; failure messages and stack traces moved into an
    encoded (so encrypted) attribute, since they can quote an address or a name."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def overhead(plain_bytes: int) -> int:
    """Bytes the codec adds to a payload of ``plain_bytes`` (JSON) bytes: nonce, GCM tag and
    the framing of the inner payload (its ``json/plain`` encoding and the data's length)."""
    inner = Payload(metadata={"encoding": b"json/plain"}, data=b"x" * plain_bytes)
    return len(inner.SerializeToString()) - plain_bytes + NONCE_BYTES + TAG_BYTES

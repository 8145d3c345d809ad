"""The payload codec: encryption, key ids and rotation, encrypted failures, the settings that
production refuses, and the codec server's access rules (the app in process)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from domain.parties import Actor, Role
from infra.codec import (
    DEV_KEY,
    ENCODING,
    KEY_ID_METADATA,
    CodecKeyError,
    EncryptionCodec,
    UnknownCodecKeyError,
    data_converter,
    dev_keys,
    parse_keys,
)
from infra.codec_server import codec_routes
from infra.config import Settings

EMAIL = "zhang.wei@customer.test"
PRODUCTION = dict(
    environment="production",
    link_secret="s" * 40,
    payment_gateway="fake",
    _env_file=None,
)


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def test_a_payload_is_encrypted_with_the_active_key_and_decrypts() -> None:
    codec = EncryptionCodec(parse_keys(f"k2:{new_key()},k1:{new_key()}"))
    (sealed,) = await codec.encode([plain(EMAIL)])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k2"
    assert EMAIL.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain(EMAIL)]
    # A fresh nonce each time: the same value does not give the same bytes twice.
    (again,) = await codec.encode([plain(EMAIL)])
    assert again.data != sealed.data


async def test_rotation_the_old_key_still_decodes_and_the_new_one_encodes() -> None:
    old, new = new_key(), new_key()
    before = EncryptionCodec(parse_keys(f"2025:{old}"))
    (written_before,) = await before.encode([plain(EMAIL)])
    after = EncryptionCodec(parse_keys(f"2026:{new},2025:{old}"))
    assert await after.decode([written_before]) == [plain(EMAIL)]
    (written_after,) = await after.encode([plain(EMAIL)])
    assert written_after.metadata[KEY_ID_METADATA] == b"2026"
    # Once the old key is dropped, what it wrote is refused by name, not returned as garbage.
    dropped = EncryptionCodec(parse_keys(f"2026:{new}"))
    with pytest.raises(UnknownCodecKeyError, match="2025"):
        await dropped.decode([written_before])


async def test_a_payload_relabelled_to_another_key_or_tampered_with_is_refused() -> None:
    a, b = new_key(), new_key()
    codec = EncryptionCodec(parse_keys(f"a:{a},b:{b}"))
    (sealed,) = await codec.encode([plain(EMAIL)])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"b"}, data=sealed.data)
    with pytest.raises(UnknownCodecKeyError, match="does not decrypt"):
        await codec.decode([relabelled])
    flipped = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(UnknownCodecKeyError):
        await codec.decode([Payload(metadata=sealed.metadata, data=flipped)])


async def test_payloads_written_before_encryption_pass_through() -> None:
    codec = EncryptionCodec(dev_keys())
    assert await codec.decode([plain(EMAIL)]) == [plain(EMAIL)]


async def test_the_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter(Settings(environment="test", _env_file=None))
    actor = Actor(user_id="u-1", role=Role.PARTNER_STAFF, name="Zhang Wei", email=EMAIL)
    payloads = await converter.encode([actor])
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert b"Zhang Wei" not in payloads[0].SerializeToString()
    assert await converter.decode(payloads, [Actor]) == [actor]

    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no mailbox {EMAIL}", type="bounced"), failure)
    assert EMAIL.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    back = await converter.decode_failure(failure)
    assert isinstance(back, ApplicationError) and EMAIL in back.message


def test_keys_setting_is_parsed_and_bad_entries_are_named() -> None:
    k = new_key()
    assert list(parse_keys(f" new:{k} , old:{new_key()}")) == ["new", "old"]
    for spec, why in [
        ("", "empty"),
        (k, "<id>:<base64 key>"),
        ("a:not base64!", "not valid base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "5 bytes"),
        (f"a:{k},a:{k}", "twice"),
    ]:
        with pytest.raises(CodecKeyError, match="PARTNERFLOW_CODEC_KEYS") as refused:
            parse_keys(spec)
        assert why in str(refused.value)
    with pytest.raises(ValidationError, match="PARTNERFLOW_CODEC_KEYS"):
        Settings(environment="dev", codec_keys="a:xyz", _env_file=None)


def test_production_refuses_missing_keys_and_the_dev_key() -> None:
    # Dev and test fall back on the dev key.
    assert Settings(environment="dev", _env_file=None).codec_keys is None
    with pytest.raises(ValidationError) as missing:
        Settings(**PRODUCTION)  # type: ignore[arg-type]
    assert "PARTNERFLOW_CODEC_KEYS is not set" in str(missing.value)
    dev = f"mine:{new_key()},dev:{base64.b64encode(DEV_KEY).decode()}"
    with pytest.raises(ValidationError) as with_dev:
        Settings(**PRODUCTION, codec_keys=dev)  # type: ignore[arg-type]
    assert "PARTNERFLOW_CODEC_KEYS holds the development key" in str(with_dev.value)
    with pytest.raises(ValidationError) as short:
        Settings(**PRODUCTION, codec_keys=f"k:{new_key()}", codec_token="short")  # type: ignore[arg-type]
    assert "PARTNERFLOW_CODEC_TOKEN must be at least 32" in str(short.value)
    # With its own key, what still refuses production is the fakes, not the codec.
    with pytest.raises(ValidationError) as fakes:
        Settings(**PRODUCTION, codec_keys=f"k:{new_key()}")  # type: ignore[arg-type]
    assert "CODEC" not in str(fakes.value) and "PAYMENT_GATEWAY=fake" in str(fakes.value)


def _app(settings: Settings) -> httpx.AsyncClient:
    app = Starlette(routes=codec_routes(settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://links.test")


def _body(*payloads: Payload) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


async def test_codec_server_wants_the_token_and_round_trips() -> None:
    token = "t" * 40
    settings = Settings(environment="test", codec_token=token, _env_file=None)
    auth = {"Authorization": f"Bearer {token}", "X-Namespace": "default"}
    async with _app(settings) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            r = await http.post("/codec/decode", json=_body(plain(EMAIL)), headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        encoded = await http.post("/codec/encode", json=_body(plain(EMAIL)), headers=auth)
        assert encoded.status_code == 200
        (sealed,) = encoded.json()["payloads"]
        assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
        assert EMAIL not in base64.b64decode(sealed["data"]).decode("latin-1")
        decoded = await http.post("/codec/decode", json=encoded.json(), headers=auth)
        assert decoded.status_code == 200
        (back,) = decoded.json()["payloads"]
        assert json.loads(base64.b64decode(back["data"])) == EMAIL
        bad = await http.post("/codec/decode", content=b"not json", headers=auth)
        assert bad.status_code == 400


async def test_codec_server_cors_answers_the_ui_origin_only() -> None:
    settings = Settings(
        environment="test", codec_cors_origins="http://ui.test, http://localhost:1", _env_file=None
    )
    async with _app(settings) as http:
        ui = {"Origin": "http://ui.test", "Access-Control-Request-Method": "POST"}
        pre = await http.options("/codec/decode", headers=ui)
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "http://ui.test"
        assert "Authorization" in pre.headers["access-control-allow-headers"]
        other = await http.options("/codec/decode", headers={**ui, "Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in other.headers
        # No token configured: dev and test answer (dev key, public anyway).
        r = await http.post("/codec/decode", json=_body(plain(EMAIL)), headers=ui)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://ui.test"


async def test_codec_server_stays_closed_in_production_without_a_token() -> None:
    settings = Settings(environment="test", _env_file=None)
    production = settings.model_copy(update={"environment": "production"})
    async with _app(production) as http:
        r = await http.post("/codec/decode", json=_body(plain(EMAIL)))
        assert r.status_code == 403 and "PARTNERFLOW_CODEC_TOKEN" in r.json()["error"]

"""Skip the suite's tests that need object storage (a pytest plugin, both conformance runs).

The project has no object storage (MinIO/S3, ``<attach>``, ``<filepath>``, ``<object>``, ``<hash>``,
``<npy>``, ``@store`` codecs, ``dj.config.stores``), so these tests are skipped on both sides with
the reason, and never count. Rules, first match wins: the suite's own ``requires_minio`` marker;
a storage fixture; a file whose subject is storage; a test whose body or parameters name a store.

Stdlib and pytest only: this file is put on the pytest subprocess's path by itself.
"""

from __future__ import annotations

import inspect
import re

import pytest

REASON = "conformance: needs object storage"

STORAGE_FIXTURES = frozenset(
    {
        "minio_client",
        "s3fs_client",
        "s3_creds",
        "stores_config",
        "mock_stores",
        "mock_cache",
        "mock_object_storage",
        "object_storage_config",
        "schema_obj",
        "schema_ext",
    }
)

STORAGE_FILES = {
    "test_attach.py": "<attach> codec",
    "test_object.py": "<object> codec",
    "test_hash_storage.py": "<hash> content-addressed store",
    "test_gc.py": "store garbage collection",
    "test_npy_codec.py": "<npy> codec in a store",
    "test_update1.py": "<attach@store> / <filepath@store> attributes",
    "test_storage_adapter.py": "storage adapters",
    "test_storage_urls.py": "store URLs",
}

STORAGE_TEXT = re.compile(
    r"config\.stores|config\[\s*[\"']stores|<(?:attach|filepath|object|hash|npy)\b|<\w*@\w*>"
)


def body_source(obj: object) -> str:
    """A function's source without its decorators ('' when it cannot be read)."""
    try:
        text = inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""
    match = re.search(r"^\s*(?:async\s+)?def\s", text, re.MULTILINE)
    return text[match.start() :] if match else text


def storage_reason(item: pytest.Item) -> str | None:
    """Why this test needs object storage, or None."""
    if item.get_closest_marker("requires_minio"):
        return "requires_minio marker"
    fixtures = STORAGE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if fixtures:
        return "fixture " + ", ".join(sorted(fixtures))
    filename = item.path.name
    if filename in STORAGE_FILES:
        return STORAGE_FILES[filename]
    callspec = getattr(item, "callspec", None)
    params = repr(callspec.params) if callspec is not None else ""
    if STORAGE_TEXT.search(body_source(getattr(item, "obj", None)) + params):
        return "the test names a store or a storage codec"
    return None


@pytest.hookimpl(trylast=True)  # after the suite's conftest has added its markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = storage_reason(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"{REASON} ({reason})"))

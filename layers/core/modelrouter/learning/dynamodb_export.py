"""Provenance records out of DynamoDB: the table itself, or a table export to S3 at scale.

* **The table** (:func:`table_records`): one ``Query`` per tenant over the start-time range (the sort
  key is ``<ISO start>#<request id>``, so ``--since``/``--until`` are a key condition), paginated; with
  no tenant given, a ``Scan`` of the whole table.
* **An export** (:class:`DynamoDBExport`): what ``ExportTableToPointInTime`` writes, in DynamoDB JSON:
  ``AWSDynamoDB/<export id>/manifest-summary.json`` (the export: format, item count),
  ``manifest-files.json`` (JSON Lines, one object per data file: ``dataFileS3Key``, ``itemCount``,
  ``md5Checksum``) and ``data/<name>.json.gz`` (gzip, one ``{"Item": {...}}`` per line). It is read
  from a local copy of the export directory or from ``s3://bucket/prefix`` (the export's own
  directory, or the export prefix holding one export). Each data file's item count is checked, and
  its MD5 compared with the manifest's.

Both decode items with :func:`from_dynamodb_json`, so both give the same records to
:func:`~modelrouter.learning.export.write_outcomes`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol

from modelrouter.learning.export import RecordFilter

__all__ = [
    "DATA_FORMAT",
    "DynamoDBExport",
    "ExportReadError",
    "from_dynamodb_json",
    "item_to_record",
    "table_records",
]

DATA_FORMAT = "DYNAMODB_JSON"
"""The export format this reader understands (``ION`` is not)."""
_SUMMARY = "manifest-summary.json"
_FILES = "manifest-files.json"
_EXPORTS_DIR = "AWSDynamoDB"
_FULL_EXPORT = "FULL_EXPORT"
_S3 = "s3://"
_CHUNK_BYTES = 1 << 20


class ExportReadError(ValueError):
    """An export (or a line of one) that cannot be read; the message says where."""


def _number(text: str) -> int | float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if value == value.to_integral_value() and not any(mark in text for mark in ".eE"):
        return int(value)
    return float(value)


def _binary(value: Any) -> bytes:
    return value if isinstance(value, bytes) else base64.b64decode(value)


_SCALARS: dict[str, Any] = {
    "S": str,
    "N": _number,
    "B": _binary,
    "BOOL": bool,
    "NULL": lambda _: None,
    "SS": list,
    "NS": lambda values: [_number(value) for value in values],
    "BS": lambda values: [_binary(value) for value in values],
}


def from_dynamodb_json(value: Any) -> Any:
    """One attribute value in DynamoDB JSON (``{"N": "1.5"}``) as a plain value: S text, N an int or a
    float, B bytes, BOOL, NULL None, M a dict, L a list, SS/NS/BS lists.

    Raises:
        ValueError: ``value`` is not a single typed attribute value.
    """
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"not a DynamoDB attribute value: {str(value)[:80]}")
    ((kind, inner),) = value.items()
    if kind == "M":
        if not isinstance(inner, dict):
            raise ValueError("an M value must be an object")
        return {str(name): from_dynamodb_json(item) for name, item in inner.items()}
    if kind == "L":
        if not isinstance(inner, list):
            raise ValueError("an L value must be a list")
        return [from_dynamodb_json(item) for item in inner]
    convert = _SCALARS.get(kind)
    if convert is None:
        raise ValueError(f"unknown DynamoDB type '{kind}'")
    return convert(inner)


def item_to_record(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (attribute name → typed value) as a plain dict."""
    return {str(name): from_dynamodb_json(value) for name, value in item.items()}


def table_records(
    client: Any, table: str, record_filter: RecordFilter, tenants: Sequence[str] | None
) -> Iterator[dict[str, Any]]:
    """The provenance records of ``tenants`` in the filter's time range, one ``Query`` (paginated) per
    tenant; ``tenants`` None: a ``Scan`` of the whole table (the filter is then applied by the caller)."""
    if tenants is None:
        yield from _pages(client, "scan", {"TableName": table})
        return
    low, high = record_filter.sort_key_range()
    for tenant in tenants:
        condition, values = "tenant_id = :tenant", {":tenant": {"S": tenant}}
        if low is not None:
            values[":low"] = {"S": low}
        if high is not None:
            values[":high"] = {"S": high}
        if low is not None and high is not None:
            condition += " AND sort_key BETWEEN :low AND :high"  # a key at `high` itself would be "<high>#id"
        elif low is not None:
            condition += " AND sort_key >= :low"
        elif high is not None:
            condition += " AND sort_key < :high"
        arguments = {
            "TableName": table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        yield from _pages(client, "query", arguments)


def _pages(client: Any, operation: str, arguments: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        page = getattr(client, operation)(**arguments)
        for item in page.get("Items", []):
            yield item_to_record(item)
        if "LastEvaluatedKey" not in page:
            return
        arguments = {**arguments, "ExclusiveStartKey": page["LastEvaluatedKey"]}


class _Files(Protocol):
    """Where an export's files are: a local directory or an S3 prefix."""

    def name(self, relative: str) -> str:
        """How to call ``relative`` in messages."""
        ...

    def exists(self, relative: str) -> bool:
        """Whether the file exists."""
        ...

    def open(self, relative: str) -> IO[bytes]:
        """The file's bytes, as a stream."""
        ...

    def exports(self) -> list[str]:
        """The export directories below ``AWSDynamoDB/`` (relative, ending with ``/``)."""
        ...


@dataclass(frozen=True)
class _LocalFiles:
    root: Path

    def name(self, relative: str) -> str:
        return str(self.root / relative)

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def open(self, relative: str) -> IO[bytes]:
        return (self.root / relative).open("rb")

    def exports(self) -> list[str]:
        found = sorted((self.root / _EXPORTS_DIR).glob(f"*/{_SUMMARY}"))
        return [f"{_EXPORTS_DIR}/{path.parent.name}/" for path in found]


@dataclass(frozen=True)
class _S3Files:
    client: Any
    bucket: str
    prefix: str

    def name(self, relative: str) -> str:
        return f"{_S3}{self.bucket}/{self.prefix}{relative}"

    def exists(self, relative: str) -> bool:
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + relative, MaxKeys=1)
        return any(entry["Key"] == self.prefix + relative for entry in listed.get("Contents", []))

    def open(self, relative: str) -> IO[bytes]:
        body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=self.prefix + relative)["Body"]
        return body

    def exports(self) -> list[str]:
        listed = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=f"{self.prefix}{_EXPORTS_DIR}/", Delimiter="/"
        )
        folders = [entry["Prefix"][len(self.prefix) :] for entry in listed.get("CommonPrefixes", [])]
        return [folder for folder in sorted(folders) if self.exists(folder + _SUMMARY)]


class _Hashing:
    """A read-only stream that keeps the MD5 of what was read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.md5 = stream, hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.stream.read(size)
        self.md5.update(chunk)
        return chunk

    def seek(self, offset: int, /) -> int:
        """Not seekable: a gzip stream read forward never seeks."""
        raise io.UnsupportedOperation("an export's data file is read forward only")

    def drain(self) -> str:
        """Read what is left; the base64 MD5 of the whole stream (the manifest's ``md5Checksum`` form)."""
        while self.read(_CHUNK_BYTES):
            pass
        return base64.b64encode(self.md5.digest()).decode()


@dataclass
class DynamoDBExport:
    """A DynamoDB table export (DynamoDB JSON, full export): its records, file by file."""

    location: str
    """A local directory or ``s3://bucket/prefix``: the export's directory, or a prefix holding one."""
    s3_client: Any = None
    """The S3 client for an ``s3://`` location."""
    files_read: int = 0
    """Data files read so far."""
    items_read: int = 0
    """Items read so far."""
    checksum_mismatches: list[str] = field(default_factory=list)
    """Data files whose MD5 differs from the manifest's."""

    def records(self) -> Iterator[dict[str, Any]]:
        """Every item of the export as a record, in the manifest's file order.

        Raises:
            ExportReadError: no export, several, another format, an unreadable manifest or data line,
                or a data file with another number of items than its manifest says.
        """
        files = self._export_files()
        summary = self._json(files, _SUMMARY)
        if summary.get("outputFormat", DATA_FORMAT) != DATA_FORMAT:
            raise ExportReadError(
                f"{files.name(_SUMMARY)}: the export is {summary.get('outputFormat')}; export with "
                f"--export-format {DATA_FORMAT}"
            )
        if summary.get("exportType", _FULL_EXPORT) != _FULL_EXPORT:
            raise ExportReadError(f"{files.name(_SUMMARY)}: an incremental export holds changes, not records")
        for number, entry in enumerate(self._manifest(files), start=1):
            key = entry.get("dataFileS3Key")
            if not isinstance(key, str) or not key:
                raise ExportReadError(f"{files.name(_FILES)}:{number}: no dataFileS3Key")
            yield from self._data_file(files, f"data/{key.rsplit('/', 1)[-1]}", entry)

    def _export_files(self) -> _Files:
        files = self._root()
        if files.exists(_SUMMARY):
            return files
        exports = files.exports()
        if len(exports) == 1:
            return _nested(files, exports[0])
        where = files.name("")
        if not exports:
            raise ExportReadError(
                f"no DynamoDB export at {where}: neither {_SUMMARY} nor {_EXPORTS_DIR}/<export id>/{_SUMMARY}"
            )
        listed = ", ".join(files.name(export) for export in exports)
        raise ExportReadError(f"{where} holds {len(exports)} exports; give one of them: {listed}")

    def _root(self) -> _Files:
        if not self.location.startswith(_S3):
            return _LocalFiles(Path(self.location))
        bucket, _, prefix = self.location.removeprefix(_S3).partition("/")
        if not bucket:
            raise ExportReadError(f"no bucket in {self.location}")
        if self.s3_client is None:
            raise ExportReadError(f"no S3 client to read {self.location}")
        return _S3Files(self.s3_client, bucket, prefix.rstrip("/") + "/" if prefix.strip("/") else "")

    def _json(self, files: _Files, relative: str) -> dict[str, Any]:
        with files.open(relative) as stream:
            try:
                loaded = json.loads(stream.read())
            except ValueError as error:
                raise ExportReadError(f"{files.name(relative)}: not JSON ({error})") from None
        if not isinstance(loaded, dict):
            raise ExportReadError(f"{files.name(relative)}: not a JSON object")
        return loaded

    def _manifest(self, files: _Files) -> list[dict[str, Any]]:
        with files.open(_FILES) as stream:
            lines = stream.read().decode("utf-8", errors="replace").splitlines()
        entries = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as error:
                raise ExportReadError(f"{files.name(_FILES)}:{number}: not JSON ({error})") from None
            if not isinstance(entry, dict):
                raise ExportReadError(f"{files.name(_FILES)}:{number}: not a JSON object")
            entries.append(entry)
        return entries

    def _data_file(self, files: _Files, relative: str, entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
        name, count = files.name(relative), 0
        with files.open(relative) as raw:
            hashing = _Hashing(raw)
            with gzip.GzipFile(fileobj=hashing, mode="rb") as lines:
                for number, line in _lines(lines, name):
                    if line.strip():
                        count += 1
                        yield _item(line, name, number)
            checksum = hashing.drain()
        expected = entry.get("itemCount")
        if isinstance(expected, int) and expected != count:
            raise ExportReadError(
                f"{name}: {count} items, the manifest says {expected} (an incomplete copy?)"
            )
        if entry.get("md5Checksum") not in {None, checksum}:
            self.checksum_mismatches.append(name)
        self.files_read += 1
        self.items_read += count


def _nested(files: _Files, folder: str) -> _Files:
    if isinstance(files, _LocalFiles):
        return _LocalFiles(files.root / folder)
    assert isinstance(files, _S3Files)
    return _S3Files(files.client, files.bucket, files.prefix + folder)


def _lines(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of a gzipped data file; a file that is not gzip (or is cut short) is an
    :class:`ExportReadError` naming it."""
    number = 0
    try:
        for number, line in enumerate(lines, start=1):
            yield number, line
    except (OSError, EOFError, zlib.error) as error:
        where = f" after line {number}" if number else ""
        raise ExportReadError(f"{name}: not a readable gzip file{where} ({error})") from None


def _item(line: bytes, name: str, number: int) -> dict[str, Any]:
    try:
        document = json.loads(line)
    except ValueError as error:
        raise ExportReadError(f"{name}:{number}: not JSON ({error})") from None
    except RecursionError:  # the decoder recursed out of stack
        raise ExportReadError(f"{name}:{number}: JSON nested too deeply to be read") from None
    item = document.get("Item") if isinstance(document, dict) else None
    if not isinstance(item, dict):
        raise ExportReadError(f'{name}:{number}: not an {{"Item": ...}} line')
    try:
        return item_to_record(item)
    except ValueError as error:
        raise ExportReadError(f"{name}:{number}: {error}") from None
    except RecursionError:
        raise ExportReadError(f"{name}:{number}: an item nested too deeply to be read") from None

"""Reading provenance for operators: one request's whole record, or a tenant's records of a time window.

``store`` (the reads: the ``by_request_id`` index then ``GetItem``; the base table by tenant and time,
filtered server-side), ``inputs`` (operators' ids, times, ages and months, checked), ``listing`` (rows and
totals), ``render`` (records as text, control characters escaped), ``errors``. ``modelrouter audit``
(:mod:`modelrouter.cli.audit_cmd`) and the usage breakdown (:mod:`modelrouter.accounting.usage_read`)
use them. Nothing is imported here, so importing a submodule stays cheap.
"""

from __future__ import annotations

__all__: list[str] = []

"""Timestamps xltool writes (archive index, task files, run logs): UTC, ISO 8601 with a Z."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    """'2026-01-31T08:00:00Z': to the second, for records people read."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_precise() -> str:
    """'2026-01-31T08:00:00.123456Z': to the microsecond, for ordering arrivals within a second."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

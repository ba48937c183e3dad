"""What a collect worker process does with one file: read it, or write its feedback workbook.

Module-level functions taking and returning plain dicts, so they pickle to `spawn` workers; all
paths are absolute. Results are rows for the index (`archive_index.READ_COLUMNS`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..base.clock import utc_now as _now
from ..base.errors import XltoolError
from ..check.issues import Issue, count
from ..spec.model import load_model


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def read_task(task: dict[str, Any]) -> dict[str, Any]:
    """Read one stored file: {"path", "name", "schema", "strict"} -> a `reads` row (without keys)."""
    from ..read.reader import read_workbook

    try:
        model = load_model(task["schema"])
        result = read_workbook(task["path"], model=model, strict=task["strict"])
    except XltoolError as exc:
        return {
            "ok": 0,
            "error_code": exc.code,
            "message_zh": exc.message_zh,
            "message_en": exc.message_en,
            "details_json": _dumps(exc.details),
            "read_at": _now(),
        }
    report = result.report
    report["_meta"]["source"]["file"] = task["name"]  # the name it was received under, not the stored copy's
    text = json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n"
    data = _dumps({k: v for k, v in report.items() if k != "_meta"})
    errors, warnings = count(result.issues)
    return {
        "ok": 1,
        "identity_json": _dumps(result.identity.as_dict()),
        "filled_json": _dumps({k: result.values.get(p) for k, p in result.model.identity_fields.items()}),
        "issues_json": json.dumps([i.as_dict() for i in result.issues], ensure_ascii=False, default=str),
        "errors": errors,
        "warnings": warnings,
        "report_json": text,
        "json_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "data_sha256": hashlib.sha256(data.encode("utf-8")).hexdigest(),
        "kind": report["_meta"]["source"].get("kind"),
        "read_at": report["_meta"].get("read_at") or _now(),
    }


def feedback_task(task: dict[str, Any]) -> dict[str, Any]:
    """Write one feedback workbook: {"source", "out", "issues", "title"} -> {"ok": 1} or an error."""
    from ..read.feedback import write_feedback

    try:
        issues = [Issue(**i) for i in task["issues"]]
        write_feedback(Path(task["source"]), issues, Path(task["out"]), title=task.get("title"))
    except XltoolError as exc:
        return {"ok": 0, "error_code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en}
    except Exception as exc:  # noqa: BLE001 - a feedback file is a convenience: report, go on
        return {
            "ok": 0,
            "error_code": "FEEDBACK_FAILED",
            "message_zh": f"反馈文件生成失败：{exc!r}",
            "message_en": f"could not write the feedback file: {exc!r}",
        }
    return {"ok": 1}

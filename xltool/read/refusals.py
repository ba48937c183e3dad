"""Why the safety gate refuses a file: one stable code per reason, with a message in Chinese and English
that tells a township user what to do. The inbox uses the same wording for the same reasons."""

from __future__ import annotations

from typing import Any

from ..base.errors import InputFileError

_COUNTED_WHAT = {
    "c": ("单元格", "cells"),
    "row": ("行", "rows"),
    "si": ("共享字符串", "shared strings"),
    "xf": ("单元格格式", "cell formats"),
    "definedName": ("定义的名称", "defined names"),
    "sheet": ("工作表", "sheets"),
    "tags": ("XML元素", "XML elements"),
    "dense_cells": ("单元格（按各表已用区域计）", "cells (by each sheet's used range)"),
}
LOOKS_LIKE = {  # looks_like -> (Chinese, English), for NOT_A_WORKBOOK
    "csv": ("CSV文本文件", "a CSV text file"),
    "html": ("网页（HTML/XML）文件", "a web page (HTML/XML)"),
    "pdf": ("PDF文档", "a PDF document"),
    "image": ("图片", "an image"),
    "text": ("纯文本文件", "a plain text file"),
    "word": ("Word文档", "a Word document"),
    "zip": ("普通压缩包", "an ordinary zip archive"),
    "unknown": ("无法识别的数据", "unrecognisable data"),
}
_SUBMIT = "请提交由模板填写的 .xlsx 文件", "please submit the .xlsx file filled in from the template"
_RESAVE = "请用Excel重新保存后提交", "please re-save it in Excel and submit again"
MESSAGES = {  # code -> (Chinese, English); {placeholders} are filled in by refuse
    "FILE_NOT_FOUND": ("找不到文件，请检查文件路径", "File not found; check the path"),
    "FILE_UNREADABLE": (
        "无法读取文件（可能是文件夹或没有读取权限），请检查后重试",
        "The file cannot be read (a folder, or no permission); check and retry",
    ),
    "EMPTY_FILE": (
        "文件是空的（0字节），请重新提交填写好的 .xlsx 文件",
        "The file is empty (0 bytes); submit the filled-in .xlsx file again",
    ),
    "FILE_TOO_LARGE": (
        "文件过大（{mb:.1f} MB，上限 {limit_mb:.1f} MB），请检查是否提交错了文件",
        "The file is too large ({mb:.1f} MB, limit {limit_mb:.1f} MB); right file?",
    ),
    "NOT_A_WORKBOOK": (
        "文件不是Excel工作簿（看起来是{what_zh}），" + _SUBMIT[0],
        "Not an Excel workbook (it looks like {what_en}); " + _SUBMIT[1],
    ),
    "ENCRYPTED_WORKBOOK": (
        "文件设置了打开密码，请取消密码后重新提交",
        "The workbook has a password to open; remove it and submit again",
    ),
    "OLE2_NOT_WORKBOOK": (
        "文件是旧版Office文件，但不是Excel工作簿（可能是Word文档），" + _SUBMIT[0],
        "An old-style Office file, not a workbook (a Word file?); " + _SUBMIT[1],
    ),
    "BROKEN_OLE2": (
        "文件已损坏（旧版Office文件无法读取），请用Excel另存为 .xlsx 后提交",
        "The file is a damaged old Office file; save it as .xlsx in Excel, resubmit",
    ),
    "BROKEN_ZIP": (
        "文件已损坏或不完整（压缩包无法读取），" + _RESAVE[0],
        "The file is damaged or incomplete (unreadable zip container); " + _RESAVE[1],
    ),
    "ZIP_NO_WORKBOOK": (
        "文件是压缩包，但里面没有Excel工作簿，" + _SUBMIT[0],
        "The file is a zip archive with no Excel workbook inside; " + _SUBMIT[1],
    ),
    "ZIP_BOMB": (
        "文件解压后体积异常（疑似压缩炸弹），已拒绝读取；" + _SUBMIT[0],
        "The file would unpack to an absurd size (suspected zip bomb); " + _SUBMIT[1],
    ),
    "WORKBOOK_TOO_LARGE": (
        "工作簿内部异常庞大（{what_zh} {found:,} 个，上限 {limit:,}），不像是由模板填写的文件，"
        "已拒绝读取；" + _SUBMIT[0],
        "The workbook is abnormally large inside ({found:,} {what_en}, limit {limit:,}); " + _SUBMIT[1],
    ),
    "XML_DTD": (
        "文件内部含有不允许的XML声明（DTD/实体），可能是恶意文件，已拒绝读取；" + _RESAVE[0],
        "A forbidden XML declaration (DTD/entity) inside, maybe malicious; " + _RESAVE[1],
    ),
}


def too_large(size: int, limit: int) -> dict[str, float]:
    """The placeholders of the FILE_TOO_LARGE message."""
    return {"mb": size / 1048576, "limit_mb": limit / 1048576}


def refuse(code: str, path: str | None, **details: Any) -> InputFileError:
    """The error for `code`; its details fill the message and travel with it."""
    fmt: dict[str, Any] = {}
    if code == "NOT_A_WORKBOOK":
        fmt = dict(zip(("what_zh", "what_en"), LOOKS_LIKE[details["looks_like"]], strict=False))
    elif code == "WORKBOOK_TOO_LARGE":
        fmt = {**details, **dict(zip(("what_zh", "what_en"), _COUNTED_WHAT[details["reason"]], strict=False))}
    elif code == "FILE_TOO_LARGE":
        fmt = too_large(details["size"], details["limit"])
    zh, en = MESSAGES[code]
    return InputFileError(code, zh.format(**fmt), en.format(**fmt), path=path, details=details)

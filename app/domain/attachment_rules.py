"""Attachment file rules shared by Initialize and the attachment endpoints (SPEC.md §4.7). Pure."""
from __future__ import annotations

MIME_TYPES = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pps": "application/vnd.ms-powerpoint",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".txt": "text/plain",
    ".xml": "text/xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".png": "image/png",
    ".json": "application/json",
    ".csv": "text/csv",
    ".dcm": "application/dicom",
    ".dicom": "application/dicom",
}


def extension(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:].lower() if dot >= 0 else ""


def data_type(file_name: str) -> str:
    """MIME type reported as `dataType`; `binary_octet_stream` for unknown extensions."""
    return MIME_TYPES.get(extension(file_name), "binary_octet_stream")

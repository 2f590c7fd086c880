"""Bounds on what one request may carry (DESIGN.md §7; the README lists them). Pure constants.

Where SPEC.md gives a limit it is used as is. Where a numbered error (1038: more than 100
attachments) answers above a limit, the schema's cap sits higher, so the numbered error still
answers just past the SPEC limit and only absurd sizes become a validation problem.
"""
from __future__ import annotations

# JSON bodies: containers nested deeper than this are refused at parse time (400).
MAX_JSON_DEPTH = 64

"""`correspondence send`: one message to every recipient of a CSV file, through the client library
(`clients/python`, import name `correspondence_client`), resumable without sending anything twice.

Registers itself on the `correspondence` command group when app.cli imports it. Imports the client
library only when the command runs; from a checkout where it is not installed, it is taken from
`clients/python` beside this package.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from app.cli import main

CLIENT_DIR = Path(__file__).resolve().parents[1] / "clients" / "python"
PROGRESS_MODES = ("auto", "bar", "plain", "none")


def _client_library() -> None:
    """The client library, installed or from the checkout; one line saying what to install if it or
    what it needs (requests: not a dependency of the service) is missing."""
    try:
        importlib.import_module("correspondence_client")
    except ImportError:
        if not (CLIENT_DIR / "correspondence_client").is_dir():
            raise click.ClickException(
                "the client library is not installed: pip install ./clients/python"
            ) from None
        sys.path.insert(0, str(CLIENT_DIR))
        try:
            importlib.import_module("correspondence_client")
        except ImportError as exc:
            raise click.ClickException(
                f"`correspondence send` needs the client library and {exc.name or 'its dependencies'}: "
                "pip install ./clients/python"
            ) from None


def _load_message(
    message: Path | None,
    title: str | None,
    body_file: Path | None,
    summary: str | None,
    resource: str | None,
    reference: str | None,
    language: str | None,
) -> tuple[dict, list]:
    """The `correspondence` object to send, and the existing attachment ids of the message file."""
    attachments: list = []
    if message is not None:
        if title or body_file:
            raise click.UsageError("give --message, or --title and --body-file, not both")
        try:
            data = json.loads(message.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--message") from exc
        if not isinstance(data, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--message")
        lowered = {k.lower(): k for k in data}
        if "recipients" in lowered:
            raise click.BadParameter("has recipients: they come from --recipients", param_hint="--message")
        attachments = list(data.get(lowered.get("existingattachments", ""), []) or [])
        correspondence = data[lowered["correspondence"]] if "correspondence" in lowered else data
        correspondence = dict(correspondence)
    else:
        if not (title and body_file):
            raise click.UsageError("give --message FILE.json, or --title and --body-file")
        correspondence = {
            "content": {
                "messageTitle": title,
                "messageBody": body_file.read_text(encoding="utf-8"),
                "language": language or "nb",
            }
        }
        if summary:
            correspondence["content"]["messageSummary"] = summary
    keys = {k.lower(): k for k in correspondence}
    if resource:
        correspondence.pop(keys.get("resourceid", "resourceId"), None)
        correspondence["resourceId"] = resource
    elif "resourceid" not in keys:
        raise click.UsageError("the message has no resourceId: give --resource")
    if reference:
        correspondence.pop(keys.get("sendersreference", "sendersReference"), None)
        correspondence["sendersReference"] = reference
    return correspondence, attachments


def _token_source(token: str | None, command: str | None) -> Any:
    from correspondence_client import TokenCache

    if command:

        def fetch() -> str:
            done = subprocess.run(command, shell=True, check=True, capture_output=True, text=True)
            return done.stdout.strip()

        return TokenCache(fetch)
    if token:
        return token
    raise click.UsageError("give --token (or CORRESPONDENCE_TOKEN), or --token-command")


@main.command("send")
@click.option(
    "--recipients",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV: one recipient a row (9-digit org number, 11-digit national identity number, or URN)",
)
@click.option(
    "--message",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON: an Initialize body without recipients, or its `correspondence` object",
)
@click.option("--title", help="message title (instead of --message)")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="message body, markdown (instead of --message)",
)
@click.option("--summary", help="message summary (with --title)")
@click.option("--language", help="nb, nn or en (with --title; default nb)")
@click.option("--resource", help="resourceId (replaces the message's)")
@click.option(
    "--senders-reference", help="sendersReference (replaces the message's); ':<job>:<chunk>' is added"
)
@click.option(
    "--attachment", "attachments", multiple=True, help="id of an uploaded shared attachment; repeat"
)
@click.option(
    "--url",
    envvar="CORRESPONDENCE_URL",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="service base URL (env CORRESPONDENCE_URL)",
)
@click.option("--token", envvar="CORRESPONDENCE_TOKEN", help="bearer token (env CORRESPONDENCE_TOKEN)")
@click.option(
    "--token-command",
    envvar="CORRESPONDENCE_TOKEN_COMMAND",
    help="shell command printing a token; run again before it expires and after a 401",
)
@click.option(
    "--result",
    type=click.Path(dir_okay=False, path_type=Path),
    help="result CSV [default: <recipients>.result.csv]; the journal is <result>.journal",
)
@click.option(
    "--chunk-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 500),
    help="recipients per request (1: each with its own idempotentKey)",
)
@click.option(
    "--concurrency", default=4, show_default=True, type=click.IntRange(1, 64), help="requests at once"
)
@click.option(
    "--skip-invalid", is_flag=True, help="send to the valid rows; the others are listed and skipped"
)
@click.option("--dry-run", is_flag=True, help="check the file and plan the requests; send nothing")
@click.option("--wait", is_flag=True, help="then follow the notification orders to their final status")
@click.option("--wait-timeout", default=900.0, show_default=True, help="seconds --wait follows the orders")
@click.option("--poll-interval", default=2.0, show_default=True, help="seconds between --wait polls")
@click.option(
    "--progress",
    type=click.Choice(PROGRESS_MODES),
    default="auto",
    show_default=True,
    help="bar on a terminal, plain lines otherwise",
)
@click.option(
    "--progress-interval", default=2.0, show_default=True, help="seconds between plain progress lines"
)
@click.option(
    "--settle",
    default=3.0,
    show_default=True,
    help="seconds after an unanswered request before searching whether it was stored",
)
@click.option(
    "--max-failed-chunks", default=3, show_default=True, help="stop after this many failed requests"
)
@click.option(
    "--max-attempts", default=8, show_default=True, help="attempts per request (429, 503, no answer)"
)
@click.option("--timeout", default=60.0, show_default=True, help="seconds to wait for an answer")
@click.option(
    "--column", help="recipient column: name or 1-based number [default: `recipient`, else the first]"
)
@click.option("--header/--no-header", default=None, help="the first row names the columns [default: guessed]")
def send(
    recipients: Path,
    message: Path | None,
    title: str | None,
    body_file: Path | None,
    summary: str | None,
    language: str | None,
    resource: str | None,
    senders_reference: str | None,
    attachments: tuple[str, ...],
    url: str,
    token: str | None,
    token_command: str | None,
    result: Path | None,
    chunk_size: int,
    concurrency: int,
    skip_invalid: bool,
    dry_run: bool,
    wait: bool,
    wait_timeout: float,
    poll_interval: float,
    progress: str,
    progress_interval: float,
    settle: float,
    max_failed_chunks: int,
    max_attempts: int,
    timeout: float,
    column: str | None,
    header: bool | None,
) -> None:
    """Send one message to every recipient of a CSV file, in requests of at most 500.

    Resumable: run the same command again after Ctrl-C, a crash or a 503 storm; nothing already sent
    is sent again (see docs/sending.md, "Sending to many recipients"). Exit status 0 when every row is sent,
    1 when some are not (yet), 2 for invalid rows, 130 when interrupted."""
    _client_library()
    from correspondence_client import CorrespondenceClient, RetryPolicy
    from correspondence_client.bulk import JournalMismatch, SendOptions
    from correspondence_client.bulk import send as bulk_send

    correspondence, file_attachments = _load_message(
        message, title, body_file, summary, resource, senders_reference, language
    )
    options = SendOptions(
        recipients=recipients,
        message=correspondence,
        result=result,
        chunk_size=chunk_size,
        concurrency=concurrency,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        wait=wait,
        wait_timeout=wait_timeout,
        poll_interval=poll_interval,
        progress=progress,
        progress_interval=progress_interval,
        settle_seconds=settle,
        max_failed_chunks=max_failed_chunks,
        column=column,
        header=header,
        existing_attachments=[*file_attachments, *attachments],
        stream=sys.stdout,
        progress_stream=sys.stderr,
    )
    source = "" if dry_run else _token_source(token, token_command)
    client = CorrespondenceClient(
        url,
        source,
        timeout=(5.0, timeout),
        settle_seconds=settle,
        retry=RetryPolicy(max_attempts=max_attempts, max_delay=60.0),
    )
    try:
        report = bulk_send(client, options)
    except (ValueError, JournalMismatch) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        client.close()
    click.get_current_context().exit(report.exit_code)

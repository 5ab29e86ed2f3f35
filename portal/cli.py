"""Command-line interface: ``flask users|tokens|usage|providers|demo``."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from itertools import islice
from typing import Iterator

import click
import sqlalchemy as sa
from flask import Flask
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import ApiToken, User, utcnow

IMPORT_CHUNK = 1000


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(usage)
    app.cli.add_command(providers)
    app.cli.add_command(demo)


# --- users -------------------------------------------------------------------

@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May view every user's usage.")
@click.option("--password", help="Prompted for (hidden, twice) when omitted.")
def users_create(email: str, admin: bool, password: str | None) -> None:
    """Create a user; the last line printed is the new user's id."""
    from portal.auth.policy import user_by_email

    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("must be an e-mail address", param_hint="EMAIL")
    if user_by_email(email) is not None:
        raise click.ClickException(f"a user with e-mail {email} already exists")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.BadParameter("must be at least 8 characters", param_hint="--password")
    user = User(email=email, password_hash=generate_password_hash(password), is_admin=admin)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {'admin' if admin else 'user'} {email}; its user_id is:")
    click.echo(str(user.id))


# --- tokens ------------------------------------------------------------------

@click.group()
def tokens() -> None:
    """Manage personal API tokens."""


def _user_or_fail(email: str) -> User:
    """Find a user by e-mail or stop with a clear message."""
    from portal.auth.policy import user_by_email

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    return user


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="", help="A label to recognise the token by.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "ingest"]),
              help="Repeatable; default: both read and ingest.")
def tokens_create(email: str, name: str, scopes: tuple[str, ...]) -> None:
    """Create a token for EMAIL; the last line printed is the token (shown only once)."""
    from portal.auth.tokens import SCOPES, create_token

    user = _user_or_fail(email)
    token, plain = create_token(user, name=name, scopes=frozenset(scopes) or SCOPES)
    click.echo(f"Token {token.prefix}… for {user.email} (scopes: {token.scopes}). Store it now; it is not shown again:")
    click.echo(plain)


@tokens.command("list")
@click.argument("email")
def tokens_list(email: str) -> None:
    """List EMAIL's tokens (never the secrets)."""
    user = _user_or_fail(email)
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M} UTC" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M} UTC" if t.last_used_at else "never"
        click.echo(f"{t.id}\t{t.prefix}…\t{t.name or '-'}\t{t.scopes}\t{state}\tlast used {used}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see ``tokens list``)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token with id {token_id}")
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    click.echo(f"Revoked token {token.id} ({token.prefix}…).")


# --- usage -------------------------------------------------------------------

@click.group()
def usage() -> None:
    """Usage logs."""


def _read_jsonl(path: str) -> Iterator[tuple[int, object]]:
    """Yield (line number, parsed JSON) for each non-blank line; decimals stay exact."""
    with click.open_file(path, "r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line, parse_float=Decimal)
            except ValueError as exc:
                yield number, _BadJSON(str(exc))


def _line_relative(field: str, chunk: list[tuple[int, object]]) -> str:
    """Turn a batch field path ``[3].user_id`` into ``line 17: user_id``."""
    if field.startswith("[") and "]" in field:
        index, _, rest = field[1:].partition("]")
        if index.isdigit() and int(index) < len(chunk):
            return f"line {chunk[int(index)][0]}: {rest.lstrip('.')}"
    return field


class _BadJSON:
    """Marks a line that is not JSON, so pass 1 reports it with the others."""

    def __init__(self, message: str):
        self.message = message


@usage.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user-id", type=int, help="user_id for records that name none.")
def usage_import(path: str, user_id: int | None) -> None:
    """Import usage records from a JSON Lines file (one record per line), all or nothing.

    Pass 1 validates every line and reports each bad field with its line number;
    nothing is written unless the whole file is valid. Pass 2 inserts in chunks
    inside one transaction.
    """
    from portal.usage.recording import record_usage
    from portal.usage.validation import InvalidInput, validate_record


    problems: list[str] = []
    total = 0
    try:
        for number, item in _read_jsonl(path):
            total += 1
            if isinstance(item, _BadJSON):
                problems.append(f"line {number}: not valid JSON ({item.message})")
                continue
            try:
                validate_record(item)
            except InvalidInput as exc:
                problems.extend(f"line {number}: {e.field}: {e.message}" for e in exc.errors)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path} is not UTF-8 text (byte {exc.start} after line {total}); nothing was imported") from None
    if problems:
        for line in problems[:50]:
            click.echo(line, err=True)
        if len(problems) > 50:
            click.echo(f"... and {len(problems) - 50} more problems", err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in {path}; nothing was imported")
    if total == 0:
        raise click.ClickException(f"{path} holds no records")

    started = time.perf_counter()
    done = 0
    lines = iter(_read_jsonl(path))
    try:
        while chunk := list(islice(lines, IMPORT_CHUNK)):
            try:
                record_usage([item for _, item in chunk], default_user_id=user_id, commit=False)
            except InvalidInput as exc:
                # Pass 1 checked each record alone; what is left is about users.
                for e in exc.errors[:50]:
                    click.echo(_line_relative(e.field, chunk) + f": {e.message}", err=True)
                raise click.ClickException(f"{len(exc.errors)} problem(s) in {path}; nothing was imported") from None
            db.session.flush()
            done += len(chunk)
            click.echo(f"  {done:,}/{total:,} records staged", err=True)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    click.echo(f"Imported {done:,} records in {time.perf_counter() - started:.1f}s.")


# --- providers ---------------------------------------------------------------

@usage.group("rollups")
def usage_rollups() -> None:
    """Check or rebuild the dashboard's rollup tables (triggers keep them; this is for repairs)."""


def _check_rollups(failure: str) -> None:
    """Print how many rollup rows differ from the raw logs; fail with ``failure`` if any do."""
    from portal.usage.rollup_build import rollup_drift

    with db.engine.connect() as conn:
        drift = rollup_drift(conn)
    click.echo(f"usage_daily_rollups: {drift.daily:,} rows differ from the raw logs")
    click.echo(f"latency_monthly_histogram: {drift.histogram:,} rows differ from the raw logs")
    if not drift.none:
        raise click.ClickException(failure)
    click.echo("The rollups match the raw logs.")


@usage_rollups.command("check")
def usage_rollups_check() -> None:
    """Compare the rollups with fresh aggregates of the raw logs; exit 1 if they differ."""
    _check_rollups("the rollups have drifted: run `flask usage rollups rebuild`")


@usage_rollups.command("rebuild")
def usage_rollups_rebuild() -> None:
    """Recompute the rollups from the raw logs in one transaction (writers wait until it commits)."""
    from portal.usage.rollup_build import rebuild_rollups

    started = time.perf_counter()
    click.echo("Rebuilding the rollups from the raw logs (ingestion waits until this commits)...", err=True)
    with db.engine.begin() as conn:
        rebuild_rollups(conn)
    click.echo(f"Rebuilt in {time.perf_counter() - started:.1f}s; checking...", err=True)
    _check_rollups("the rollups still differ after a rebuild: are the triggers installed?")


@click.group()
def providers() -> None:
    """Inspect and re-run provider attribution."""


@providers.command("explain")
@click.argument("model", required=False)
@click.option("--category", help="The logged category, e.g. video.")
@click.option("--endpoint", help="The endpoint URL or route path.")
def providers_explain(model: str | None, category: str | None, endpoint: str | None) -> None:
    """Print which provider MODEL (with --category/--endpoint) is attributed to, and why."""
    from portal.usage.recording import app_detector

    attribution = app_detector().explain(category, model, endpoint)
    click.echo(f"provider: {attribution.slug or '(none)'}" + (f" ({attribution.display_name})" if attribution.display_name else ""))
    click.echo(f"evidence: {attribution.evidence or 'none'}")
    click.echo(f"rule:     {attribution.rule}")
    click.echo(f"why:      {attribution.reason}")


@providers.command("redetect")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--batch-size", type=click.IntRange(min=100), default=50_000, show_default=True,
              help="Rows (by id range) per committed UPDATE.")
def providers_redetect(dry_run: bool, batch_size: int) -> None:
    """Re-attribute every stored log with the current catalogue (resumable; safe to re-run)."""
    from portal.usage.attribution import attribute_rows
    from portal.usage.recording import app_detector

    detector = app_detector()
    started = time.perf_counter()

    def progress(p) -> None:
        click.echo(f"  batch {p.batch}/{p.batches}: {p.rows_changed:,} rows updated so far", err=True)

    # Autocommit: every batch is durable on its own, so an interrupted run resumes where it stopped.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        report = attribute_rows(conn, detector.detect, batch_size=batch_size, dry_run=dry_run, progress=progress)
    elapsed = time.perf_counter() - started
    click.echo(f"{report.rows:,} rows, {report.triples:,} distinct (category, model, endpoint), "
               f"{report.detector_calls:,} detector calls.")
    if not report.transitions:
        click.echo("Every row already has the current attribution; nothing to change.")
        return
    click.echo(f"{'from':<16} {'to':<16} {'rows':>12}")
    for (old, new), count in sorted(report.transitions.items(), key=lambda kv: -kv[1]):
        click.echo(f"{old or '(none)':<16} {new or '(none)':<16} {count:>12,}")
    verb = "would change" if dry_run else "changed"
    changed = report.rows_to_change if dry_run else report.rows_changed
    click.echo(f"{changed:,} rows {verb} in {elapsed:.1f}s.")


# --- demo ----------------------------------------------------------------------

@click.command("demo")
@click.option("--rows", type=click.IntRange(min=1, max=1_000_000), default=3000, show_default=True)
@click.option("--email", default="demo@example.com", show_default=True)
@click.option("--password", default="demo-password", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(rows: int, email: str, password: str, seed: int) -> None:
    """Create a demo user with realistic usage across providers and months (idempotent)."""
    from portal.demo import seed_demo

    summary = seed_demo(email=email, password=password, rows=rows, seed=seed)
    click.echo(summary)

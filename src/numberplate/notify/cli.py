"""`numberplate webhooks`: deliver the outbox, show its state, queue failed deliveries again, send a test event."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import click

from numberplate.clitypes import reported
from numberplate.config import parse_webhook_urls
from numberplate.errors import NumberplateError
from numberplate.store.cli import CONFIG_OPTION, cli_config, open_database


@click.group("webhooks")
def webhooks_group() -> None:
    """POST stored reads (or only watchlist alerts) to the webhook_urls: deliver, status, retry, test."""


@webhooks_group.command("deliver")
@click.option("--once", is_flag=True, help="deliver what is due now (each URL until it fails once) and exit")
@CONFIG_OPTION
def webhooks_deliver(once: bool, config_path: Path | None) -> None:
    """Send the queued webhook deliveries until Ctrl+C (the web server's workers do this too).

    For setups without `numberplate serve`, e.g. only `numberplate video --store`. Any number of deliverers may
    run at once, on any host sharing the database: each delivery is sent by one of them.
    """
    from numberplate.notify.deliver import Round, WebhookDeliverer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per POST; failures are logged by the deliverer
    config = cli_config(config_path)
    if not parse_webhook_urls(config.webhook_urls):
        click.echo("note: webhook_urls is not set, so no new read is queued; delivering what is queued", err=True)
    deliverer = WebhookDeliverer.for_config(open_database(config), config)
    try:
        if once:
            skip: set[str] = set()
            total = Round()
            with reported(NumberplateError):
                deliverer.deliveries.purge()
                while (done := deliverer.deliver_due(skip)).attempted:
                    total += done
            click.echo(f"delivered {total.delivered}, to retry later {total.retrying}, failed {total.failed}"
                       + (f", dropped {total.dropped}" if total.dropped else ""))
            return
        click.echo("delivering webhooks (Ctrl+C to stop)", err=True)
        try:
            deliverer.run(threading.Event())
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
    finally:
        deliverer.close()


@webhooks_group.command("status")
@click.option("--limit", type=click.IntRange(0, 1000), default=10, show_default=True, help="last errors shown")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@CONFIG_OPTION
def webhooks_status(limit: int, as_json: bool, config_path: Path | None) -> None:
    """Pending, delivered and failed deliveries, and the last errors.

    Each pending one is shown as "sending (lease until <time>)" while a deliverer holds it, "due now" once its
    next attempt time has passed, else "next <time>".
    """
    from numberplate.notify.outbox import Deliveries

    deliveries = Deliveries(open_database(cli_config(config_path)))
    with reported(NumberplateError):
        counts = deliveries.counts()
        errors = deliveries.recent_errors(limit) if limit else []
    if as_json:
        click.echo(json.dumps({**counts, "errors": [e.to_dict() for e in errors]}))
        return
    click.echo(f"pending {counts['pending']}  delivered {counts['delivered']}  failed {counts['failed']}")
    for e in errors:
        click.echo(f"{e.id:>6}  {e.status:<7} read {e.read_id} {e.event:<5} {e.url}  attempts {e.attempts}  "
                   f"{e.describe()}  {e.last_error}")


@webhooks_group.command("retry")
@click.option("--id", "ids", type=click.IntRange(1), multiple=True, help="only this delivery (repeatable)")
@CONFIG_OPTION
def webhooks_retry(ids: tuple[int, ...], config_path: Path | None) -> None:
    """Queue the failed deliveries again, due now, with a fresh count of attempts."""
    from numberplate.notify.outbox import Deliveries

    with reported(NumberplateError):
        n = Deliveries(open_database(cli_config(config_path))).retry_failed(ids)
    click.echo(f"queued {n} failed deliver{'y' if n == 1 else 'ies'} again")


@webhooks_group.command("test")
@CONFIG_OPTION
def webhooks_test(config_path: Path | None) -> None:
    """POST a test event (`"event": "test"`, `"read": null`) to each of the webhook_urls now, signed as the
    real ones, and print each answer; exit status 1 when any was not a 2xx."""
    from numberplate.notify.webhooks import send_test_events, shown_url

    config = cli_config(config_path)
    urls = parse_webhook_urls(config.webhook_urls)
    if not urls:
        raise click.ClickException("no webhook_urls are set; set NUMBERPLATE_WEBHOOK_URLS or webhook_urls in the "
                                   "config file")
    failed = 0
    for url, answer in send_test_events(urls, config.webhook_secret, config.webhook_timeout):
        outcome = f"HTTP {answer.status}" if answer.delivered else f"FAILED  {answer.error}"
        click.echo(f"{shown_url(url)}  {outcome}  {answer.elapsed_ms:.0f} ms")
        failed += not answer.delivered
    if failed:
        raise SystemExit(1)

"""`seinhuis node ...`: serve a node, send and import signals, look up status and the inbox."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from node import importer
from node.model import LocalAddress, LocalArrears, LocalPerson, LocalSignal
from seinhuis import backup, logs
from seinhuis.errors import ConfigError, InvalidArgument
from seinhuis.lifecycle import serve_until_signalled
from seinhuis.vocabulary import SignalType, Urgency, WithdrawReason

if TYPE_CHECKING:
    from node.remote import NodeClient


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the node: local API, delivery, partner feed")
    serve.add_argument("--config", required=True, type=Path, metavar="FILE")
    serve.add_argument("--grace", type=float, default=2.0, help="seconds to finish calls on stop")
    serve.set_defaults(func=_serve)

    send = sub.add_parser("send", help="send one signal through a running node")
    _node_args(send)
    send.add_argument("--type", required=True, dest="signal_type", type=_signal_type)
    send.add_argument("--bsn", default="", help="citizen number (if the partner may use it)")
    send.add_argument("--birth-date", type=_date, metavar="YYYY-MM-DD")
    send.add_argument("--postcode", required=True)
    send.add_argument("--house-number", required=True, type=int)
    send.add_argument("--house-letter", default="")
    send.add_argument("--addition", default="", help="huisnummertoevoeging")
    send.add_argument("--urgency", type=_urgency, default=Urgency.NORMAAL)
    send.add_argument("--observed-on", type=_date, metavar="YYYY-MM-DD", help="default: today")
    send.add_argument("--amount-cents", type=int)
    send.add_argument("--months", type=int, help="months in arrears")
    send.add_argument("--contact-attempted", action="store_true")
    send.add_argument("--reminder-sent", action="store_true")
    send.add_argument("--reference", default="", help="your own reference for this signal")
    send.set_defaults(func=_send)

    imp = sub.add_parser(
        "import",
        help="import signals from a CSV file (docs/partner-csv.md)",
        description="Through a running node (--node), or straight into the node's outbox "
        "with its pseudonym cache (--config; the fast path for large files).",
    )
    where = imp.add_mutually_exclusive_group(required=True)
    where.add_argument("--node", metavar="ADDRESS", help="a running node's local API")
    where.add_argument("--config", type=Path, metavar="FILE", help="the node's node.toml")
    imp.add_argument("--token-file", type=Path, metavar="FILE", help="bearer token (--node)")
    _tls_args(imp)
    imp.add_argument("--in-flight", type=int, default=64, help="concurrent calls (--node)")
    imp.add_argument("--batch", type=int, default=2000, help="rows per batch (--config)")
    imp.add_argument("--no-progress", action="store_true")
    imp.add_argument("--verbose", "-v", action="store_true", help="log each refusal to stderr")
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.set_defaults(func=_import)

    status = sub.add_parser("status", help="where a signal stands (by id or your reference)")
    _node_args(status)
    status.add_argument("signal", metavar="ID_OR_REFERENCE")
    status.set_defaults(func=_status)

    withdraw = sub.add_parser("withdraw", help="withdraw a signal (by id or your reference)")
    _node_args(withdraw)
    withdraw.add_argument("signal", metavar="ID_OR_REFERENCE")
    withdraw.add_argument(
        "--reason", type=_reason, default=WithdrawReason.UNJUSTIFIED, help="UNJUSTIFIED|RESOLVED"
    )
    withdraw.set_defaults(func=_withdraw)

    inbox = sub.add_parser("inbox", help="list the hub's notifications stored at this node")
    inbox.add_argument("--config", required=True, type=Path, metavar="FILE")
    inbox.add_argument("--after", type=int, default=0, metavar="CURSOR")
    inbox.add_argument("--limit", type=int, default=1000)
    inbox.add_argument(
        "--tekst", action="store_true", help="print each notification as a Dutch sentence"
    )
    inbox.set_defaults(func=_inbox)

    backup.add_command(
        sub, what="the node's database", config_help="node.toml", database_of=_database_file
    )


def _database_file(path: Path) -> Path:
    """The node's database file (`seinhuis node backup`)."""
    from node import config

    return config.load(path).database


def _node_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node", required=True, metavar="ADDRESS", help="host:port or unix:PATH")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="bearer token, if required")
    _tls_args(p)


def _tls_args(p: argparse.ArgumentParser) -> None:
    """How to reach a node whose local API serves TLS (node/local_tls.py)."""
    p.add_argument(
        "--ca",
        type=Path,
        metavar="FILE",
        help="connect with TLS, trusting the CA that issued the node's local API certificate "
        "(required for an address not on this machine)",
    )
    p.add_argument(
        "--cert", type=Path, metavar="FILE", help="client certificate (node.local_tls.client_ca)"
    )
    p.add_argument("--key", type=Path, metavar="FILE", help="the client certificate's key")
    p.add_argument(
        "--server-name", metavar="NAME", help="the name in the node's certificate, if not the host"
    )


def _client(args: argparse.Namespace) -> NodeClient:
    """A NodeClient from --node, --token-file and the TLS flags."""
    from node.local_tls import ClientTls
    from node.remote import NodeClient

    tls = None
    if args.ca is not None:
        tls = ClientTls(args.ca, args.cert, args.key, args.server_name)
    else:
        for flag, value in (("--cert", args.cert), ("--key", args.key)):
            if value is not None:
                raise InvalidArgument(
                    "needs --ca (a client certificate is sent over TLS)", field=flag
                )
        if args.server_name is not None:
            raise InvalidArgument(
                "needs --ca (it names the node's certificate)", field="--server-name"
            )
    return NodeClient(args.node, token=_token(args.token_file), tls=tls)


def _choice(kind: type[SignalType] | type[Urgency] | type[WithdrawReason]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            return kind(text.upper())
        except ValueError:
            choices = ", ".join(m.value for m in kind)
            raise argparse.ArgumentTypeError(f"choose from {choices}") from None

    return parse


_signal_type = _choice(SignalType)
_urgency = _choice(Urgency)
_reason = _choice(WithdrawReason)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def _token(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read token ({exc.strerror})") from exc


def _serve(args: argparse.Namespace) -> int:
    from node import config, wiring  # the server stack only for this command

    logs.configure("node")
    service = wiring.build(config.load(args.config))
    serve_until_signalled(service.start, lambda: service.stop(args.grace))
    return 0


def _send(args: argparse.Namespace) -> int:
    _quiet_logs()
    arrears = None
    if any((args.amount_cents, args.months, args.contact_attempted, args.reminder_sent)):
        arrears = LocalArrears(
            amount_cents=args.amount_cents or 0,
            months_in_arrears=args.months or 0,
            contact_attempted=args.contact_attempted,
            written_reminder_sent=args.reminder_sent,
        )
    signal_ = LocalSignal(
        signal_type=SignalType(args.signal_type),
        urgency=Urgency(args.urgency),
        person=LocalPerson(bsn=args.bsn, birth_date=args.birth_date),
        address=LocalAddress(args.postcode, args.house_number, args.house_letter, args.addition),
        observed_on=args.observed_on,
        arrears=arrears,
        partner_reference=args.reference,
    )
    client = _client(args)
    try:
        print(client.submit(signal_).hex())
    finally:
        client.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    _quiet_logs()
    from node.remote import describe_status

    client = _client(args)
    try:
        print(json.dumps(describe_status(client.status(args.signal)), indent=2))
    finally:
        client.close()
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    _quiet_logs()
    client = _client(args)
    try:
        print(client.withdraw(args.signal, WithdrawReason(args.reason)).hex())
    finally:
        client.close()
    return 0


def _inbox(args: argparse.Namespace) -> int:
    _quiet_logs()
    from node import config
    from node.inbox import CASE_KINDS, Inbox, describe

    cfg = config.load(args.config)
    inbox = Inbox(cfg.database)
    try:
        cases = {v.cursor: v for v in inbox.cases(after_cursor=args.after, limit=args.limit)}
        for n in inbox.list(after_cursor=args.after, limit=args.limit):
            item: dict[str, object] = {
                "cursor": n.cursor,
                "created_at": n.created_at.isoformat(),
                "kind": n.kind,
                "id": n.id.hex(),
                "reference": n.partner_reference,
            }
            if n.reason is not None:
                item["reason"] = n.reason.value
            view = cases.get(n.cursor) if n.kind in CASE_KINDS else None
            if view is not None:
                item.update(
                    notice=view.notice,
                    status=view.status,
                    references=list(view.references),
                    regiehouder=view.regiehouder,
                    deadline=view.deadline.isoformat() if view.deadline else None,
                    outcome=view.outcome,
                    text=describe(view),
                )
            if args.tekst:
                print(item.get("text") or _dutch(n.kind, n.partner_reference or n.id.hex()))
            else:
                print(json.dumps(item))
    finally:
        inbox.close()
    return 0


def _dutch(kind: str, reference: str) -> str:
    if kind == "signal_withdrawn":
        return f"Uw signaal {reference} is ingetrokken bij de hub."
    if kind == "signal_expired":
        return f"Uw signaal {reference} is verlopen en bij de hub gewist."
    return f"Melding van een onbekende soort ({kind})."


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("import", total=total)
        lock = threading.Lock()

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)

        yield advance


def _quiet_logs(verbose: bool = False) -> None:
    """Client commands log to stderr, warnings only unless asked: stdout is for results."""
    logs.configure("node-cli", level=logging.INFO if verbose else logging.WARNING)


def _import(args: argparse.Namespace) -> int:
    _quiet_logs(args.verbose)
    path: Path = args.file
    if args.config is not None:
        for flag in ("token_file", "ca", "cert", "key", "server_name"):
            if getattr(args, flag) is not None:
                name = "--" + flag.replace("_", "-")
                raise InvalidArgument("only with --node (a running node)", field=name)
    total = importer.count_rows(path)
    show = not args.no_progress and sys.stderr.isatty()
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = importer.open_rows(stream)
        if args.node:
            client = _client(args)
            try:
                with _progress(total, show) as advance:
                    report = client.import_rows(rows, in_flight=args.in_flight, progress=advance)
            finally:
                client.close()
        else:
            report = _import_direct(args, rows, total, show)
    importer.write_report(report, sys.stdout)
    logs.get_logger(__name__).info(
        "node.import_finished", rows=report.rows, accepted=report.accepted, refused=report.refused
    )
    return 0 if report.refused == 0 else 1


def _import_direct(
    args: argparse.Namespace,
    rows: Iterator[tuple[int, dict[str, str]]],
    total: int,
    show: bool,
) -> importer.Report:
    from node import config, wiring

    if args.batch < 1:
        raise InvalidArgument("must be at least 1", field="--batch")
    local = wiring.open_local(config.load(args.config))
    try:
        with _progress(total, show) as advance:
            return importer.run_direct(rows, local.node, batch_size=args.batch, progress=advance)
    finally:
        local.close()

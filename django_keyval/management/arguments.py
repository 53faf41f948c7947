"""The options of ``manage.py keyval``: the original -c form and the subcommands."""

from __future__ import annotations

import argparse
import copy
import math
from collections.abc import Callable

from django.core.management.base import CommandParser

from django_keyval.management.console import OneLineErrorParser

ORIGINAL_COMMANDS = ("set", "get", "del")


def add_arguments(parser: CommandParser) -> None:
    """Add the original form's options, ``--database`` and the subcommands to ``parser``."""
    # Django's own options (--verbosity, --settings, --traceback...) and --database work
    # after a subcommand too; SUPPRESS keeps the subparser from overwriting their values.
    shared = [
        action
        for action in parser._actions
        if action.option_strings and action.dest not in {"help", "version"}
    ]
    original = parser.add_argument_group(
        "the original form", "keyval -c set|get|del -n NAME -k KEY [-V VALUE], as in 0.1"
    )
    original.add_argument("-c", "--command", choices=ORIGINAL_COMMANDS, help="set, get or del")
    original.add_argument(
        "-n", "--store_name", "--store-name", dest="store_name", metavar="NAME",
        help="the store",
    )  # fmt: skip
    original.add_argument("-k", "--ke", "--key", dest="key", metavar="KEY", help="the key")
    original.add_argument("-V", "--value", metavar="VALUE", help="the value to set (a string)")
    shared.append(
        parser.add_argument("--database", help="a database alias (default: the routers')")
    )
    subparsers = parser.add_subparsers(
        parser_class=OneLineErrorParser, dest="subcommand", title="subcommands",
        metavar="SUBCOMMAND",
    )  # fmt: skip

    def add(name: str, help: str) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help, description=help + ".")
        for action in shared:
            action = copy.copy(action)
            action.default = argparse.SUPPRESS
            action.help = argparse.SUPPRESS if action.dest != "database" else action.help
            sub._add_action(action)
        return sub

    _add_key_subcommands(add)
    _add_store_subcommands(add)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


AddSubcommand = Callable[[str, str], argparse.ArgumentParser]


def _add_key_subcommands(add: AddSubcommand) -> None:
    sub = add("set", "Store VALUE under KEY in store NAME")
    sub.add_argument("store", metavar="NAME")
    sub.add_argument("entry_key", metavar="KEY")
    sub.add_argument("entry_value", metavar="VALUE", help="a string (a JSON value with --json)")
    sub.add_argument(
        "--ttl", type=_seconds, metavar="SECONDS", help="seconds to live (default: the store's)"
    )
    sub.add_argument("--json", action="store_true", help="parse VALUE as JSON, keeping its type")
    sub = add("get", "Print the value of KEY in store NAME")
    sub.add_argument("store", metavar="NAME")
    sub.add_argument("entry_key", metavar="KEY")
    sub.add_argument("--json", action="store_true", help="print the value as JSON, even a str")
    sub = add("del", "Delete KEY from store NAME")
    sub.add_argument("store", metavar="NAME")
    sub.add_argument("entry_key", metavar="KEY")


def _add_store_subcommands(add: AddSubcommand) -> None:
    sub = add("list", "List every store with its key count, or the keys of store NAME")
    sub.add_argument("store", metavar="NAME", nargs="?")
    sub.add_argument("--prefix", default="", help="only the keys starting with PREFIX")
    sub = add("flush", "Delete every key of store NAME, or of every store with --all")
    sub.add_argument("store", metavar="NAME", nargs="?")
    sub.add_argument("--all", action="store_true", help="flush every store")
    sub.add_argument(
        "--yes", "--noinput", "--no-input", dest="interactive", action="store_false",
        help="do not ask for confirmation",
    )  # fmt: skip
    sub = add("export", "Write stores (default: all) to FILE or stdout, one entry per line")
    sub.add_argument("stores", metavar="NAME", nargs="*")
    sub.add_argument("-o", "--output", metavar="FILE", help="the file to write (default: stdout)")
    sub.add_argument(
        "--skip-corrupt", action="store_true",
        help="leave out (and report) values that fail to decode, instead of failing",
    )  # fmt: skip
    sub = add("import", "Write the entries of an export FILE ('-' for stdin), all or nothing")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument(
        "--no-pickle", action="store_true",
        help="refuse pickled values (and serializers named by the file): for untrusted files",
    )  # fmt: skip
    sub = add("touch", "Make every process read store NAME again, after writes that bypassed it")
    sub.add_argument("store", metavar="NAME")
    sub = add("settings", "List the declared settings: name, type, changed or not, value, default")
    sub.add_argument(
        "--stale", action="store_true",
        help="list the keys of the settings store that no setting declares any more",
    )  # fmt: skip
    sub.add_argument("--delete", action="store_true", help="with --stale: delete them")
    sub.add_argument(
        "--yes", "--noinput", "--no-input", dest="interactive", action="store_false",
        help="do not ask for confirmation",
    )  # fmt: skip
    sub = add("purge-expired", "Delete the expired entries of every store")
    sub.add_argument("--batch-size", type=_positive_int, default=1000, help="rows per transaction")
    sub = add(
        "cull",
        "Cull the KeyValCache caches (all, or the ALIASes of settings.CACHES) down to "
        "their MAX_ENTRIES",
    )
    sub.add_argument("aliases", nargs="*", metavar="ALIAS")

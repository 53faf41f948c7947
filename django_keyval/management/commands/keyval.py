"""manage.py keyval: set, get and delete keys; list, flush, export, import and purge stores;
cull caches."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NoReturn

from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from django_keyval import DEFAULT_TTL, KeyVal, transfer
from django_keyval.cache import KeyValCache
from django_keyval.exceptions import CorruptValue, KeyValError
from django_keyval.jsonvalues import json_text
from django_keyval.keys import validate_key
from django_keyval.live import SETTINGS_SERIALIZER, declaration
from django_keyval.localcache import touch_store
from django_keyval.management import settings_command
from django_keyval.management.arguments import add_arguments
from django_keyval.management.console import (
    OneLineErrorParser,
    Progress,
    counted,
    open_input,
    open_output,
)
from django_keyval.routing import db_for_write, every_database
from django_keyval.signals import change_source
from django_keyval.ttl import TTL


def display(value: Any) -> str:
    """Return ``value`` as ``get`` prints it: a str as it is, else JSON, else its repr."""
    if type(value) is str:
        return value
    return json_text(value) or repr(value)


def _printable(name: str) -> str:
    """Return a key or store name as one field of one line: its repr if it has control chars."""
    return name if name.isprintable() else repr(name)


def _count(number: int, noun: str) -> str:
    plural = {"entry": "entries", "store": "stores"}[noun]
    return f"{number} {noun if number == 1 else plural}"


def _expiry(expires_at: float | None) -> str:
    if expires_at is None:
        return "never"
    return datetime.fromtimestamp(expires_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Command(BaseCommand):
    help = (
        "Set, get and delete keys of django-keyval stores; list, flush, export, import and "
        "purge them. Run 'keyval SUBCOMMAND --help' for each subcommand's options."
    )
    stealth_options = ("stdin",)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = OneLineErrorParser  # BaseCommand offers no hook for the class.
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        if database is not None and database not in settings.DATABASES:
            raise CommandError(f"Unknown database alias {database!r}.")
        subcommand: str | None = options.get("subcommand")
        command: str | None = options["command"]
        if subcommand and command:
            raise CommandError("Give either a subcommand or the original -c form, not both.")
        if not (subcommand or command):
            raise CommandError(
                "Give a subcommand (see 'manage.py keyval --help') or -c set|get|del."
            )
        handler = self._subcommands()[subcommand] if subcommand else self._original
        try:
            # Writes are signalled as the command's ("import" for an import).
            with change_source("command"):
                handler(options)
        except KeyValError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(f"Database error: {exc}") from exc

    def _subcommands(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        """Return the handler of each subcommand (arguments.py declares their options)."""
        return {
            "set": self._set,
            "get": self._get,
            "del": self._del,
            "list": self._list,
            "flush": self._flush,
            "export": self._export,
            "import": self._import,
            "purge-expired": self._purge_expired,
            "touch": self._touch,
            "cull": self._cull,
            "settings": self._settings,
        }

    # Output

    def _say(self, options: dict[str, Any], message: str) -> None:
        if options["verbosity"] >= 1:
            self.stdout.write(message)

    def _print_value(self, text: str) -> None:
        self.stdout.write(text + "\n", ending="")  # As it is, even if it ends with a newline.

    def _missing(self, key: str, store: str) -> NoReturn:
        message = f"Warning: Key {key} does not exist in {store}."
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)  # The original line, without a "CommandError:" prefix.
            sys.exit(1)
        raise CommandError(message)

    # The original form and the single-key subcommands

    def _original(self, options: dict[str, Any]) -> None:
        command, store, key, value = (
            options[name] for name in ("command", "store_name", "key", "value")
        )
        if store is None or key is None:
            raise CommandError(f"-c {command} needs -n NAME and -k KEY.")
        kv = KeyVal(store, using=options["database"])
        if command == "set":
            if value is None:
                raise CommandError("-c set needs -V VALUE.")
            self._write(kv, key, value, value, options, DEFAULT_TTL)
        elif command == "get":
            self._print_value(f"Value for key {key} is {display(self._read(kv, key))}")
        else:
            self._delete(kv, key, options)

    def _write(
        self, kv: KeyVal, key: str, value: Any, text: str, options: dict[str, Any], ttl: TTL
    ) -> None:
        if kv.set(key, value, ttl):
            self._say(options, f"New key {key} set to {text}.")
        else:
            self._say(options, f"Existing key {key} overwritten to {text}.")

    def _read(self, kv: KeyVal, key: str) -> Any:
        try:
            return kv.get(key)
        except KeyError:
            if settings_command.is_setting(kv.name, key):
                return declaration(key).default  # never saved: it reads as its default
            self._missing(key, kv.name)

    def _delete(self, kv: KeyVal, key: str, options: dict[str, Any]) -> None:
        try:
            kv.delete(key)
        except KeyError:
            self._missing(key, kv.name)
        self._say(options, f"Key {key} deleted")

    def _set(self, options: dict[str, Any]) -> None:
        kv = KeyVal(options["store"], using=options["database"])
        key, text = options["entry_key"], options["entry_value"]
        value: Any = text
        setting = settings_command.is_setting(kv.name, key)
        if options["json"]:
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise CommandError(f"Invalid JSON value for key {key!r}: {exc}.") from None
        if setting:
            # A declared setting: parsed by its type (or checked, with --json), never expires.
            if options["ttl"] is not None:
                raise CommandError(f"{key} is a declared setting: settings never expire.")
            if options["json"]:
                settings_command.check_setting(key, value)
            else:
                value = settings_command.parse_setting(key, text)
            kv = KeyVal(
                kv.name, using=options["database"], ttl=None, serializer=SETTINGS_SERIALIZER
            )
        ttl = DEFAULT_TTL if options["ttl"] is None else options["ttl"]
        self._write(kv, key, value, text, options, ttl)

    def _get(self, options: dict[str, Any]) -> None:
        kv, key = KeyVal(options["store"], using=options["database"]), options["entry_key"]
        value = self._read(kv, key)
        if not options["json"]:
            self._print_value(display(value))
            return
        text = json_text(value)
        if text is None:
            raise CommandError(
                f"The value of key {key!r} is a {type(value).__name__}, which JSON cannot "
                f"represent: {display(value)[:200]}"
            )
        self._print_value(text)

    def _del(self, options: dict[str, Any]) -> None:
        self._delete(
            KeyVal(options["store"], using=options["database"]), options["entry_key"], options
        )

    # Whole stores

    def _existing(self, store: str, database: str | None) -> KeyVal:
        kv = KeyVal(store, using=database)
        if not kv.count():
            raise CommandError(f"Store {store!r} does not exist (it holds no live key).")
        return kv

    def _list(self, options: dict[str, Any]) -> None:
        store, prefix, database = options["store"], options["prefix"], options["database"]
        if store is None:
            if prefix:
                raise CommandError("--prefix lists the keys of one store: give its NAME.")
            for name in KeyVal.stores(using=database):
                self.stdout.write(f"{_printable(name)}\t{KeyVal(name, using=database).count()}")
            return
        self._existing(store, database)
        for entry in transfer.iter_stored(store, prefix, using=database):
            try:
                kind = type(transfer.read_value(store, entry)).__name__
            except CorruptValue:
                kind = "corrupt"
            fields = [
                _printable(entry.key),
                kind,
                str(len(entry.payload)),
                _expiry(entry.expires_at),
            ]
            self.stdout.write("\t".join(fields))

    def _flush(self, options: dict[str, Any]) -> None:
        store, database = options["store"], options["database"]
        if (store is None) != options["all"]:
            raise CommandError("Give either a store NAME or --all.")
        if store is None:
            aliases = every_database(database)
            where = "database" if len(aliases) == 1 else "databases"
            where = f"{where} {', '.join(map(repr, aliases))}"
            stores = _count(len(KeyVal.stores(using=database)), "store")
            question = f"This deletes every key of {stores} on {where}."
            if self._confirm(options, question):
                KeyVal.flush_all(using=database)
                self._say(options, f"Flushed every store on {where}.")
            return
        kv = self._existing(store, database)
        alias = db_for_write(store, database)
        question = f"This deletes all {kv.count()} keys of store {store!r} on database {alias!r}."
        if self._confirm(options, question):
            kv.flush()
            self._say(options, f"Flushed store {store!r}.")

    def _confirm(
        self, options: dict[str, Any], question: str, cancelled: str = "Flush cancelled."
    ) -> bool:
        if not options["interactive"]:
            return True
        try:
            answer = input(f"{question}\nType 'yes' to continue, or 'no' to cancel: ")
        except EOFError:
            raise CommandError(
                "No answer to the confirmation (stdin is closed): pass --yes."
            ) from None
        if answer.strip().lower() in ("yes", "y"):
            return True
        self._say(options, cancelled)
        return False

    def _touch(self, options: dict[str, Any]) -> None:
        store = validate_key(options["store"], "store name")
        touch_store(store, using=options["database"])
        alias = db_for_write(store, options["database"])
        self._say(options, f"Store {store!r} on database {alias!r} will be read again.")

    def _cull(self, options: dict[str, Any]) -> None:
        aliases = options["aliases"] or [
            alias
            for alias, config in settings.CACHES.items()
            if config.get("BACKEND") == "django_keyval.cache.KeyValCache"
        ]
        for alias in aliases:
            if alias not in settings.CACHES:
                raise CommandError(f"Unknown cache {alias!r}.")
            cache = caches[alias]
            if not isinstance(cache, KeyValCache):
                raise CommandError(f"Cache {alias!r} is not a KeyValCache.")
            culled = cache.cull()
            self._say(options, f"Culled {_count(culled, 'entry')} from cache {alias!r}.")

    def _settings(self, options: dict[str, Any]) -> None:
        if options["delete"] and not options["stale"]:
            raise CommandError("--delete removes stale keys: give --stale too.")
        if not options["stale"]:
            for line in settings_command.setting_lines(display):
                self.stdout.write(line)
            return
        stale = settings_command.stale_keys()
        for key in stale:
            self.stdout.write(_printable(key))
        if options["delete"] and stale:
            question = f"This deletes {len(stale)} stale keys of the settings store."
            if self._confirm(options, question, "Nothing deleted."):
                count = settings_command.remove_stale(stale)
                self._say(options, f"Deleted {count} stale keys.")

    def _purge_expired(self, options: dict[str, Any]) -> None:
        count = KeyVal.purge_expired(batch_size=options["batch_size"], using=options["database"])
        self._say(options, f"Purged {count} expired entries.")

    # Export and import

    def _export(self, options: dict[str, Any]) -> None:
        database, output = options["database"], options["output"]
        for store in options["stores"]:
            self._existing(store, database)
        stores = list(dict.fromkeys(options["stores"])) or KeyVal.stores(using=database)
        to_stdout = output in (None, "-")
        # On a terminal only, and not over the data itself when that goes to the terminal.
        show = self.stderr.isatty() and not (to_stdout and self.stdout.isatty())
        total = sum(KeyVal(store, using=database).count() for store in stores) if show else 0
        progress = Progress(self.stderr if show else None, "Exporting", total, "entries")
        written = skipped = 0
        lines = transfer.export_lines(stores, using=database, skip_corrupt=options["skip_corrupt"])
        with open_output(output, self.stdout) as write:
            write(transfer.header_line() + "\n")
            try:
                for line, error in lines:
                    if error is not None:
                        skipped += 1
                        self.stderr.write(f"Skipped: {error}.")
                        continue
                    write(line + "\n")
                    written += 1
                    progress.update(written)
            except CorruptValue as exc:
                raise CommandError(f"{exc}; export stopped (--skip-corrupt leaves it out)") from exc
            finally:
                progress.close()
        if not to_stdout:
            summary = f"Exported {_count(written, 'entry')} of {_count(len(stores), 'store')}"
            summary += f" to {output}" + (f", skipped {skipped} corrupt." if skipped else ".")
            self._say(options, summary)

    def _import(self, options: dict[str, Any]) -> None:
        path = options["file"]
        name = "stdin" if path == "-" else path
        with open_input(path, options.get("stdin")) as (stream, size):
            progress = Progress(
                self.stderr if self.stderr.isatty() else None, "Importing", size, "MiB"
            )
            try:
                result = transfer.import_lines(
                    counted(stream, progress, path),
                    using=options["database"],
                    allow_pickle=not options["no_pickle"],
                )
            except transfer.TransferError as exc:
                raise CommandError(f"{name}, {exc}; nothing was imported.") from exc
            finally:
                progress.close()
        summary = f"Imported {_count(result.entries, 'entry')} into "
        summary += f"{_count(result.stores, 'store')} from {name}"
        expired = f" ({result.expired} of them already expired)" if result.expired else ""
        self._say(options, summary + expired + ".")

"""The exceptions raised by django_keyval."""

from __future__ import annotations


class KeyValError(Exception):
    """Base class of every error raised by django_keyval."""


class StoreDisconnected(KeyValError, NameError):
    """An operation was attempted on a handle after ``disconnect()``."""


class InvalidKey(KeyValError, ValueError):
    """A key or store name is too long, contains NUL or is not valid Unicode."""


class SerializationError(KeyValError, TypeError):
    """A value cannot be serialized; nothing was written."""


class CorruptValue(KeyValError, ValueError):
    """A stored value cannot be decoded or fails its signature; nothing was unpickled."""


class ValueTooLarge(KeyValError, ValueError):
    """A value is larger than the database accepts; nothing was written."""


class LockTimeout(KeyValError):
    """A lock was not acquired: another owner held it for the whole ``timeout``."""


class LockLost(KeyValError):
    """A lease was released or extended by a caller that no longer owns it unexpired."""


class LockInTransaction(KeyValError):
    """A lock was taken inside a transaction on the lock's own database.

    Its lease would stay invisible to other processes until that transaction
    commits: route locks to another alias with ``KEYVAL["LOCK_DATABASE"]``.
    """

"""Code written for django-keyval 0.1 keeps working: its own test case, ported."""

from __future__ import annotations

from django import test

from django_keyval.models import KeyVal


class KeyValTestCase(test.TestCase):
    """The 0.1.2 release's KeyValTestCase, with the same calls and expectations."""

    def setUp(self) -> None:
        self.kv1 = KeyVal("kv1")
        self.kv2 = KeyVal.connect("kv2")
        self.values1 = (12, "ab", 1.2, (1, 2), [1, 2], {"a": 1.2})
        self.values2 = (123, "abc", 12.3, (1, 2, 3), [1, 2, 3], {"a": 1, "b": 2.3})
        self.keys = [f"key{i}" for i in range(len(self.values1))]
        self.nokeys = [f"nokey{i}" for i in range(len(self.values1))]

    def fill(self, kv: KeyVal, values: tuple[object, ...]) -> None:
        for key, value in zip(self.keys, values, strict=True):
            self.assertTrue(kv.set(key, value))

    def test_set_get(self) -> None:
        self.fill(self.kv1, self.values2)
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertFalse(self.kv1.set(key, value))
        for key in self.nokeys:
            self.assertRaises(KeyError, self.kv1.get, key)
        for key in self.keys:
            self.assertRaises(KeyError, self.kv2.get, key)
        self.fill(self.kv2, self.values2)
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertEqual(self.kv1.get(key), value)
        for key, value in zip(self.keys, self.values2, strict=True):
            self.assertEqual(self.kv2.get(key), value)

    def test_delete(self) -> None:
        self.fill(self.kv1, self.values1)
        for key in self.nokeys:
            self.assertRaises(KeyError, self.kv1.delete, key)
            self.assertFalse(self.kv1.delete(key, ignore_keyerror=True))
        for key in self.keys:
            self.assertTrue(self.kv1.delete(key))
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))
        self.fill(self.kv1, self.values1)
        for key in self.keys:
            self.assertTrue(self.kv1.delete(key, ignore_keyerror=True))
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))

    def test_pop(self) -> None:
        self.fill(self.kv1, self.values1)
        for key in self.nokeys:
            self.assertRaises(KeyError, self.kv1.pop, key)
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertEqual(self.kv1.pop(key), value)
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))

    def test_pop_default(self) -> None:
        self.fill(self.kv1, self.values1)
        for key in self.nokeys:
            self.assertEqual(self.kv1.pop_default(key, 5), 5)
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertEqual(self.kv1.pop_default(key, 5), value)
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))

    def test_get_default(self) -> None:
        self.fill(self.kv1, self.values1)
        for key in self.nokeys:
            self.assertEqual(self.kv1.get_default(key, 5), 5)
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertEqual(self.kv1.get_default(key, 5), value)

    def test_flush(self) -> None:
        self.fill(self.kv1, self.values1)
        self.fill(self.kv2, self.values2)
        self.assertIsNone(self.kv1.flush())
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))
            self.assertTrue(self.kv2.exists(key))

    def test_flush_all(self) -> None:
        self.fill(self.kv1, self.values1)
        self.fill(self.kv2, self.values2)
        self.assertIsNone(self.kv1.flush_all())
        for key in self.keys:
            self.assertFalse(self.kv1.exists(key))
            self.assertFalse(self.kv2.exists(key))

    def test_disconnect(self) -> None:
        self.fill(self.kv1, self.values1)
        self.fill(self.kv2, self.values2)
        self.assertIsNone(self.kv1.disconnect())
        for key, value in zip(self.keys, self.values2, strict=True):
            self.assertRaises(NameError, self.kv1.exists, key)
            self.assertTrue(self.kv2.exists(key))
            self.assertRaises(NameError, self.kv1.get, key)
            self.assertEqual(self.kv2.get(key), value)
            self.assertRaises(NameError, self.kv1.set, key, value)
            self.assertFalse(self.kv2.set(key, value))
            self.assertRaises(NameError, self.kv1.pop, key)
            self.assertEqual(self.kv2.pop(key), value)
            self.assertRaises(NameError, self.kv1.delete, key)
            self.assertRaises(NameError, self.kv1.pop_default, key, 0)
            self.assertRaises(NameError, self.kv1.get_default, key, 0)
            self.assertRaises(NameError, self.kv1.flush)
        new_kv1 = KeyVal("kv1")
        for key, value in zip(self.keys, self.values1, strict=True):
            self.assertEqual(new_kv1.get(key), value)
        self.assertIsNone(self.kv1.flush_all())

"""The tests' own helpers for the bench scripts: tests/ is not a package, so its modules
(conftest's ageing and dialogues, corpus's sentences) and the sibling bench scripts are
loaded by path, once per process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]


def tests_module(name: str) -> ModuleType:
    """``tests/NAME.py``, e.g. ``tests_module("conftest").age_sound``."""
    return _load(f"tests_{name}", TESTS / f"{name}.py")


def bench_module(name: str) -> ModuleType:
    """A sibling bench script, ``tests/bench/NAME.py``, without running its main()."""
    return _load(f"bench_{name}", Path(__file__).with_name(f"{name}.py"))


def _load(module_name: str, path: Path) -> ModuleType:
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]

"""Rebuild ``pydoc_corpus.txt.gz`` from the docstrings of the Python standard library.

The corpus shipped with labtui was produced with CPython 3.11.7::

    python trainers/data/make_corpus.py

It parses (never imports) the pure-Python modules listed in MODULES with ``ast``
and writes module, class and function docstrings in source order. The text is
Python documentation, (c) Python Software Foundation, PSF License Agreement.
"""
from __future__ import annotations

import ast
import gzip
import inspect
import sysconfig
from pathlib import Path

MODULES = [
    "abc", "argparse", "ast", "base64", "bisect", "calendar", "cmd", "codecs",
    "collections/__init__.py", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "dis", "doctest", "email/message.py", "enum",
    "filecmp", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "getopt",
    "gettext", "glob", "gzip", "heapq", "hmac", "html/parser.py", "http/client.py",
    "http/server.py", "imaplib", "inspect", "ipaddress", "json/__init__.py",
    "json/decoder.py", "json/encoder.py", "locale", "logging/__init__.py",
    "logging/handlers.py", "mailbox", "mimetypes", "ntpath", "numbers", "operator",
    "optparse", "os", "pathlib", "pdb", "pickle", "pkgutil", "platform", "plistlib",
    "poplib", "posixpath", "pprint", "profile", "pstats", "queue", "random", "re/__init__.py",
    "reprlib", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib",
    "socket", "socketserver", "statistics", "string", "subprocess", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "tokenize", "trace", "traceback", "turtle",
    "typing", "unittest/case.py", "urllib/parse.py", "urllib/request.py", "uuid",
    "warnings", "wave", "weakref", "zipfile", "zipimport",
]


def _docs(tree: ast.Module, modname: str):
    doc = ast.get_docstring(tree)
    if doc:
        yield f"# {modname}\n\n{inspect.cleandoc(doc)}"

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name.startswith("_") and node.name != "__init__":
                    continue
                name = f"{prefix}{node.name}"
                d = ast.get_docstring(node)
                if d and len(d) > 40:
                    yield f"## {modname}.{name}\n\n{d}"
                if isinstance(node, ast.ClassDef):
                    yield from walk(node.body, name + ".")

    yield from walk(tree.body, "")


def build() -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for m in MODULES:
        path = stdlib / (m if m.endswith(".py") else m + ".py")
        modname = m.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts.extend(_docs(tree, modname))
    text = "\n\n".join(parts) + "\n"
    # keep the vocabulary small and printable
    return "".join(c if (c.isascii() and (c.isprintable() or c == "\n")) else "?" for c in text)


if __name__ == "__main__":
    out = Path(__file__).with_name("pydoc_corpus.txt.gz")
    text = build()
    with gzip.GzipFile(out, "wb", mtime=0) as f:
        f.write(text.encode("ascii"))
    print(f"{out}: {len(text)} chars, {len(set(text))} distinct")

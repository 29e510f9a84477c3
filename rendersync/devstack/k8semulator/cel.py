"""A tiny evaluator for the subset of CEL used by x-kubernetes-validations rules.

Supported: literals (int, double, 'string', "string", true, false, null), ``self`` and macro
variables, field selection (``self.a.b``), indexing (``self['k']``, ``list[0]``), ``!``,
``&&``, ``||`` (with CEL's error-absorbing short circuit), comparisons ``== != < <= > >=``,
``in``, ``+``/``-``, ``has(x.f)``, ``size(x)`` / ``x.size()``, ``x.matches(re)``,
``x.startsWith(s)``, ``x.endsWith(s)``, ``x.contains(s)`` and the ``all``/``exists``/
``exists_one`` macros over lists and maps (maps iterate their keys). Anything else raises
:class:`CelError` at compile time, so an unsupported rule is noticed, never silently passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d+|\d+)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|[<>!().,\[\]+-])|(?P<id>[A-Za-z_][A-Za-z0-9_]*))"
)
_MACROS = {"all", "exists", "exists_one"}
_METHODS = {"matches", "startsWith", "endsWith", "contains", "size"}

Node = tuple[Any, ...]
Env = dict[str, Any]


class CelError(Exception):
    pass


class _MissingKeyError(CelError):
    pass


def _tokens(src: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    src = src.rstrip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise CelError(f"unsupported syntax at {pos}: {src[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _tokens(src)
        self.i = 0

    def peek(self) -> str:
        return self.toks[self.i][1] if self.i < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks) or (want is not None and self.toks[self.i][1] != want):
            raise CelError(f"expected {want or 'token'} near token {self.i}")
        self.i += 1
        return self.toks[self.i - 1]

    def binary(self, ops: set[str], sub: Callable[[], Node]) -> Node:
        node = sub()
        while self.peek() in ops:
            node = ("bin", self.take()[1], node, sub())
        return node

    def expr(self) -> Node:
        return self.binary({"||"}, lambda: self.binary({"&&"}, self.rel))

    def rel(self) -> Node:
        return self.binary({"==", "!=", "<", "<=", ">", ">=", "in"}, self.add)

    def add(self) -> Node:
        return self.binary({"+", "-"}, self.unary)

    def unary(self) -> Node:
        if self.peek() in ("!", "-"):
            return ("un", self.take()[1], self.unary())
        return self.postfix(self.primary())

    def args(self) -> list[Node]:
        self.take("(")
        out = [] if self.peek() == ")" else [self.expr()]
        while self.peek() == ",":
            self.take(",")
            out.append(self.expr())
        self.take(")")
        return out

    def postfix(self, node: Node) -> Node:
        while self.peek() in (".", "["):
            if self.take()[1] == "[":
                node = ("index", node, self.expr())
                self.take("]")
                continue
            name = self.take()[1]
            if self.peek() != "(":
                node = ("sel", node, name)
            elif name in _MACROS:
                args = self.args()
                if len(args) != 2 or args[0][0] != "var":
                    raise CelError(f"{name}() needs (variable, predicate)")
                node = ("macro", name, node, args[0][1], args[1])
            elif name in _METHODS:
                node = ("call", name, [node, *self.args()])
            else:
                raise CelError(f"unsupported method {name}()")
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return ("lit", float(text) if "." in text else int(text))
        if kind == "str":
            return ("lit", text[1:-1].encode().decode("unicode_escape"))
        if text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "id" and text in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[text])
        if kind == "id" and self.peek() == "(":
            if text not in ("has", "size"):
                raise CelError(f"unsupported function {text}()")
            return ("call", text, self.args())
        if kind == "id":
            return ("var", text)
        raise CelError(f"unexpected {text!r}")


@lru_cache(maxsize=256)
def compile_rule(rule: str) -> Node:
    parser = _Parser(rule)
    node = parser.expr()
    if parser.i != len(parser.toks):
        raise CelError(f"unexpected trailing input in {rule!r}")
    return node


def evaluate(rule: str, self_value: Any) -> Any:
    return _eval(compile_rule(rule), {"self": self_value})


def _eval(node: Node, env: Env) -> Any:
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "var":
        if node[1] not in env:
            raise CelError(f"undeclared reference to '{node[1]}'")
        return env[node[1]]
    if op == "sel":
        return _select(_eval(node[1], env), node[2])
    if op == "index":
        return _index(_eval(node[1], env), _eval(node[2], env))
    if op == "un":
        value = _eval(node[2], env)
        return (not _bool(value)) if node[1] == "!" else -value
    if op == "bin":
        return _binary(node[1], node[2], node[3], env)
    if op == "macro":
        return _macro(node[1], _eval(node[2], env), node[3], node[4], env)
    return _call(node[1], node[2], env)


def _select(target: Any, name: str) -> Any:
    if not isinstance(target, dict):
        raise CelError(f"no such key: {name}")
    if name not in target:
        raise _MissingKeyError(f"no such key: {name}")
    return target[name]


def _index(target: Any, key: Any) -> Any:
    try:
        return target[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise _MissingKeyError(f"no such key: {key}") from exc


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CelError("no such overload: expected bool")
    return value


def _binary(op: str, left: Node, right: Node, env: Env) -> Any:
    if op in ("||", "&&"):
        absorbing = op == "||"
        try:
            first: bool | CelError = _bool(_eval(left, env))
        except CelError as exc:
            first = exc
        if first is absorbing:
            return absorbing
        second = _bool(_eval(right, env))
        if second is absorbing:
            return absorbing
        if isinstance(first, CelError):
            raise first
        return second
    a, b = _eval(left, env), _eval(right, env)
    if op == "in":
        return a in b
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
    }
    try:
        return ops[op](a, b)
    except TypeError as exc:
        raise CelError(f"no such overload for {op}") from exc


def _macro(name: str, target: Any, var: str, pred: Node, env: Env) -> bool:
    items = list(target) if isinstance(target, dict | list) else None
    if items is None:
        raise CelError(f"{name}() needs a list or map")
    results = [_bool(_eval(pred, {**env, var: item})) for item in items]
    if name == "all":
        return all(results)
    if name == "exists":
        return any(results)
    return sum(results) == 1


def _call(name: str, arg_nodes: list[Node], env: Env) -> Any:
    if name == "has":
        if len(arg_nodes) != 1 or arg_nodes[0][0] != "sel":
            raise CelError("has() needs a field selection")
        target = _eval(arg_nodes[0][1], env)
        return isinstance(target, dict) and arg_nodes[0][2] in target
    args = [_eval(n, env) for n in arg_nodes]
    if name == "size":
        return len(args[0])
    subject, other = args[0], args[1]
    if not isinstance(subject, str) or not isinstance(other, str):
        raise CelError(f"no such overload: {name}")
    if name == "matches":
        return pattern_search(other, subject)
    if name == "startsWith":
        return subject.startswith(other)
    if name == "endsWith":
        return subject.endswith(other)
    return other in subject


def pattern_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` as RE2 (CEL) and ECMA-262 (OpenAPI
    ``pattern``) search: there ``$`` is the end of the text, where Python's ``$`` also
    matches before a trailing newline (so ``^a$`` would admit ``"a\\n"``)."""
    return re.search(_strict_end(pattern), text) is not None


def _strict_end(pattern: str) -> str:
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return "".join(out)

"""A small, safe evaluator for `${...}` expressions in specs (block templates and spec arguments).

Grammar (a recursive-descent parser over a token list, never Python's eval):

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '/' | '//' | '%') unary)*
    unary  := ('-' | '+') unary | atom
    atom   := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'

NUMBERs are integers (`64`) or decimals (`1.2`, `1e-3`); NAMEs are the arguments in scope (the
block's, then the spec's `args:`), bound to numbers. Integers stay exact Python integers through
`+ - * // %`; `/` and any decimal make a float, computed as Python computes it, so that a rule
written here gives what the same rule gives in torchvision (`ceil(3 * 1.1)` is 4 there and here).
The functions are the rounding rules scaled networks use:

    abs(x)                 the magnitude (with min, it turns a test into 0 or 1: a template's
                           name can then depend on it, `use: "unit_${min(1, abs(cin - out))}"`)
    round(x)               nearest integer, halves to even (Python's round, as torchvision's
                           `int(round(inp * t))`)
    ceil(x), floor(x)      integers
    min(a, b, ...), max(a, b, ...)
    make_divisible(v, d)   torchvision's and TensorFlow's channel rule: the multiple of d nearest
                           to v (halves up), at least d, plus d when that falls more than 10%
                           below v

A result that is a whole float (`32 * 1.25` = 40.0) is the integer 40; one that is not (38.4)
stays a float that remembers its expression (`Computed`), so a layer argument that needs an
integer can say which expression gave it. Length is limited (limits.MAX_EXPR_CHARS) and so is
nesting (by the length); so is every value, literals, names and each intermediate result
(limits.MAX_EXPR_VALUE; floats must also be finite): without that bound, blocks nested 32 deep
that each multiply their argument by itself 99 times reach numbers of 39 * 99**32 digits.
Division by zero is an error, as is anything else.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from .. import limits
from ..errors import LayerError
from ..suggest import did_you_mean

_TOKEN = (r"\s*(?:([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)"
          r"|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/%(),]))")  # compiled on first use
_SYNTAX = "numbers, argument names, + - * / // %, parentheses and the functions " \
          "abs round ceil floor min max make_divisible"

Number = int | float


class Computed(float):
    """A float that is not whole, with the expression that gave it (for the error when a layer
    needs an integer). It is a float in every other way: JSON, arithmetic and repr as a float."""

    __slots__ = ("text",)

    def __new__(cls, value: float, text: str) -> "Computed":
        self = super().__new__(cls, value)
        self.text = text
        return self


def evaluate_expression(text: str, names: dict[str, Any]) -> Number:
    """Value of the expression `text` with `names` bound: an int, or a `Computed` float when the
    result is not whole."""
    if len(text) > limits.MAX_EXPR_CHARS:
        raise LayerError(f"expression is longer than the limit of {limits.MAX_EXPR_CHARS} characters")
    tokens = _tokenize(text)
    parser = _Parser(tokens, names, text)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise LayerError(f"unexpected '{tokens[parser.pos][1]}' in expression '{text}'")
    if type(value) is int:
        return value
    return int(value) if value.is_integer() else Computed(value, text)


def make_divisible(v: Number, d: int) -> int:
    """torchvision's `_make_divisible(v, d)` (from TensorFlow's MobileNet code): v rounded to the
    nearest multiple of d, halves up, at least d; when that is more than 10% below v, d more."""
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = re.compile(_TOKEN).match(stripped, pos)
        if not match:
            raise LayerError(f"unexpected '{stripped[pos:].strip()[:10]}' in expression '{text}' (only {_SYNTAX})")
        number, name, op = match.groups()
        if number is not None:
            if any(c in number for c in ".eE"):
                tokens.append(("num", float(number)))
            else:
                tokens.append(("num", int(number)))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", op))
        pos = match.end()
    if not tokens:
        raise LayerError("empty expression")
    return tokens


def _whole(name: str, value: Number, text: str) -> int:
    """An integer argument of a function: a whole number."""
    if type(value) is int:
        return value
    if not value.is_integer():
        raise LayerError(f"{name}() needs a whole number, got {value!r} in expression '{text}'")
    return int(value)


def _divisor(args: list[Number], text: str) -> int:
    v, d = args
    d = _whole("make_divisible", d, text)
    if d < 1:
        raise LayerError(f"make_divisible() needs a divisor of 1 or more, got {d} in expression '{text}'")
    return make_divisible(v, d)


# name -> (number of arguments: exact, or None for one or more; the rule)
FUNCTIONS: dict[str, tuple[int | None, Callable[[list[Number], str], Number]]] = {
    "abs": (1, lambda a, t: abs(a[0])),
    "round": (1, lambda a, t: round(a[0])),
    "ceil": (1, lambda a, t: math.ceil(a[0])),
    "floor": (1, lambda a, t: math.floor(a[0])),
    "min": (None, lambda a, t: min(a)),
    "max": (None, lambda a, t: max(a)),
    "make_divisible": (2, _divisor),
}


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], names: dict[str, Any], text: str) -> None:
        self.tokens = tokens
        self.names = names
        self.text = text
        self.pos = 0

    def peek(self) -> Any:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op" else None

    def bounded(self, value: Number) -> Number:
        """`value`, if it is finite and within the limit on expression values."""
        if type(value) is not int and not math.isfinite(value):
            raise LayerError(f"a value in expression '{self.text}' is not a finite number")
        if not -limits.MAX_EXPR_VALUE <= value <= limits.MAX_EXPR_VALUE:
            bits = limits.MAX_EXPR_VALUE.bit_length() - 1
            raise LayerError(f"a value in expression '{self.text}' is outside the limit of -2^{bits} to 2^{bits} "
                             "for expression values")
        return value

    def expr(self) -> Number:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.term()
            value = self.bounded(value + right if op == "+" else value - right)
        return value

    def term(self) -> Number:
        value = self.unary()
        while self.peek() in ("*", "/", "//", "%"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.unary()
            if op == "*":
                value = self.bounded(value * right)
            elif right == 0:
                raise LayerError(f"division by zero in expression '{self.text}'")
            elif op == "/":
                value = self.bounded(value / right)
            elif op == "//":
                value = self.bounded(value // right)
            else:
                value = self.bounded(value % right)
        return value

    def unary(self) -> Number:
        if self.peek() in ("-", "+"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            value = self.unary()
            return -value if op == "-" else value
        return self.atom()

    def atom(self) -> Number:
        if self.pos >= len(self.tokens):
            raise LayerError(f"expression '{self.text}' ends too early")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            return self.bounded(value)
        if kind == "name":
            if self.peek() == "(":
                return self.call(value)
            if value not in self.names:
                hint = " (a function is called: name(...))" if value in FUNCTIONS else ""
                raise LayerError(f"unknown name '{value}' in expression '{self.text}'"
                                 f"{did_you_mean(value, self.names) or hint}")
            bound = self.names[value]
            if type(bound) is not int and not isinstance(bound, float):
                raise LayerError(f"'{value}' is not a number in expression '{self.text}'")
            return self.bounded(bound)
        if value == "(":
            inner = self.expr()
            self.close()
            return inner
        raise LayerError(f"unexpected '{value}' in expression '{self.text}'")

    def close(self) -> None:
        if self.peek() != ")":
            raise LayerError(f"missing ')' in expression '{self.text}'")
        self.pos += 1

    def call(self, name: str) -> Number:
        if name not in FUNCTIONS:
            raise LayerError(f"unknown function '{name}' in expression '{self.text}'"
                             f"{did_you_mean(name, FUNCTIONS)}; the functions are {', '.join(FUNCTIONS)}")
        count, rule = FUNCTIONS[name]
        self.pos += 1  # the '('
        args = [self.expr()]
        while self.peek() == ",":
            self.pos += 1
            args.append(self.expr())
        self.close()
        if count is not None and len(args) != count:
            raise LayerError(f"{name}() takes {count} argument{'s' if count > 1 else ''}, got {len(args)} "
                             f"in expression '{self.text}'")
        return self.bounded(rule(args, self.text))

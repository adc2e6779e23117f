"""A small, safe evaluator for `${...}` expressions inside block templates.

Grammar (integers only, never Python's eval):

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//') unary)*
    unary  := '-' unary | atom
    atom   := INT | NAME | '(' expr ')'

NAMEs are the block's arguments and must hold integers. Length is limited (limits.MAX_EXPR_CHARS)
and so is nesting (by the length); so is every value, literals, names and each intermediate result
(limits.MAX_EXPR_VALUE): without that bound, blocks nested 32 deep that each multiply their
argument by itself 99 times reach numbers of 39 * 99**32 digits. Division by zero is an error, as
is anything else.
"""

from __future__ import annotations

import re
from typing import Any

from .. import limits
from ..errors import LayerError, did_you_mean

_TOKEN = r"\s*(?:([0-9]+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))"  # compiled on first use


def evaluate_expression(text: str, names: dict[str, Any]) -> int:
    """Value of the integer expression `text` with `names` bound."""
    if len(text) > limits.MAX_EXPR_CHARS:
        raise LayerError(f"expression is longer than the limit of {limits.MAX_EXPR_CHARS} characters")
    tokens = _tokenize(text)
    parser = _Parser(tokens, names, text)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise LayerError(f"unexpected '{tokens[parser.pos][1]}' in expression '{text}'")
    return value


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = re.compile(_TOKEN).match(stripped, pos)
        if not match:
            raise LayerError(f"unexpected '{stripped[pos:].strip()[:10]}' in expression '{text}' "
                             "(only integers, argument names, + - * // and parentheses)")
        number, name, op = match.groups()
        if number is not None:
            tokens.append(("int", int(number)))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", op))
        pos = match.end()
    if not tokens:
        raise LayerError("empty expression")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], names: dict[str, Any], text: str) -> None:
        self.tokens = tokens
        self.names = names
        self.text = text
        self.pos = 0

    def peek(self) -> Any:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op" else None

    def bounded(self, value: int) -> int:
        """`value`, if it is within the limit on expression values."""
        if not -limits.MAX_EXPR_VALUE <= value <= limits.MAX_EXPR_VALUE:
            bits = limits.MAX_EXPR_VALUE.bit_length() - 1
            raise LayerError(f"a value in expression '{self.text}' is outside the limit of -2^{bits} to 2^{bits} "
                             "for expression values")
        return value

    def expr(self) -> int:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.term()
            value = self.bounded(value + right if op == "+" else value - right)
        return value

    def term(self) -> int:
        value = self.unary()
        while self.peek() in ("*", "//"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.unary()
            if op == "*":
                value = self.bounded(value * right)
            elif right == 0:
                raise LayerError(f"division by zero in expression '{self.text}'")
            else:
                value //= right
        return value

    def unary(self) -> int:
        if self.peek() == "-":
            self.pos += 1
            return -self.unary()
        return self.atom()

    def atom(self) -> int:
        if self.pos >= len(self.tokens):
            raise LayerError(f"expression '{self.text}' ends too early")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "int":
            return self.bounded(value)
        if kind == "name":
            if value not in self.names:
                raise LayerError(f"unknown name '{value}' in expression '{self.text}'{did_you_mean(value, self.names)}")
            bound = self.names[value]
            if type(bound) is not int:
                raise LayerError(f"'{value}' is not an integer in expression '{self.text}'")
            return self.bounded(bound)
        if value == "(":
            inner = self.expr()
            if self.peek() != ")":
                raise LayerError(f"missing ')' in expression '{self.text}'")
            self.pos += 1
            return inner
        raise LayerError(f"unexpected '{value}' in expression '{self.text}'")

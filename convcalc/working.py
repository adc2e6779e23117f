"""Numbers that carry their working: how `convcalc explain` shows a rule's derivation.

A `Term` is a number (an int, a Fraction or a float) together with the expression that made it.
The registry's rules (convcalc/layers/) are plain arithmetic on ints and tuples, so the very same code,
called with Terms in place of ints, returns Terms: the value is the one the rule computes for
`convcalc shapes`, by construction, and the expression is the rule's formula, which renders with
its symbols (`floor((H + p + p - d*(k - 1) - 1) / s) + 1`) or with the values substituted
(`floor((7 + 0 + 0 - 1*(3 - 1) - 1) / 2) + 1`). Nothing is written twice: there is no formula
string beside the code that could drift from it. `convcalc shapes` never builds a Term; this
module is imported only by the explain path.

What a Term records: + - * / // % and unary minus; math.floor, math.ceil and round; the
`at_least` and `named` hooks of layers/geometry.py (a max with a bound, a named intermediate such as a
padding total, shown as a "where" line). Comparisons, `bool`, `int`, `float` and `__index__`
use the value, so a rule's branches and checks behave exactly as they do on ints; what goes
through them (gcd, a modular inverse) comes back as a plain number, which the working shows as
a constant.

Rendering: `text` (ASCII, Python-like: `*`, `/`, `floor(...)`) and `latex` (for Markdown on
GitHub and in notebooks). A few rewrites keep the working readable without changing any value:
`x*1`, `x + 0` and `(x + c) - c` drop the no-ops, `a - (b + c)` is written `a - b - c`, and
`-(-a // b)`, Python's ceiling division, is written `ceil(a / b)`.
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Any, Iterator

SUM, PRODUCT, UNARY, ATOM = 1, 2, 3, 4

Number = Any  # int | Fraction | float


def _lift(value: Any) -> "Term":
    return value if isinstance(value, Term) else Term(value, "num")


def _is_const(term: "Term", value: Any) -> bool:
    return term.op == "num" and not isinstance(term.value, bool) and term.value == value


def _div(a: Number, b: Number) -> Number:
    """a / b exactly where both are whole or fractions, as a float otherwise."""
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)) and not isinstance(a, bool):
        q = Fraction(a) / Fraction(b)
        return q.numerator if q.denominator == 1 else q
    return a / b


class Term:
    """A number and the expression that computed it (see the module docstring)."""

    __slots__ = ("value", "op", "args", "name")

    def __init__(self, value: Number, op: str, args: tuple["Term", ...] = (), name: str = "") -> None:
        if type(value) is Fraction and value.denominator == 1:
            value = value.numerator
        self.value = value
        self.op = op  # sym, num, def, + - * / // % neg ceil/ floor ceil round max
        self.args = args
        self.name = name

    # -- arithmetic, with the rewrites that keep the working readable --------------------------

    def __add__(self, other: Any) -> "Term":
        return add(self, _lift(other))

    def __radd__(self, other: Any) -> "Term":
        return add(_lift(other), self)

    def __sub__(self, other: Any) -> "Term":
        return sub(self, _lift(other))

    def __rsub__(self, other: Any) -> "Term":
        return sub(_lift(other), self)

    def __mul__(self, other: Any) -> "Term":
        return mul(self, _lift(other))

    def __rmul__(self, other: Any) -> "Term":
        return mul(_lift(other), self)

    def __floordiv__(self, other: Any) -> "Term":
        return floordiv(self, _lift(other))

    def __rfloordiv__(self, other: Any) -> "Term":
        return floordiv(_lift(other), self)

    def __truediv__(self, other: Any) -> "Term":
        other = _lift(other)
        return Term(_div(self.value, other.value), "/", (self, other))

    def __rtruediv__(self, other: Any) -> "Term":
        return _lift(other) / self

    def __mod__(self, other: Any) -> "Term":
        other = _lift(other)
        return Term(self.value % other.value, "%", (self, other))

    def __rmod__(self, other: Any) -> "Term":
        return _lift(other) % self

    def __neg__(self) -> "Term":
        if self.op == "//" and self.args[0].op == "neg":  # -(-a // b): Python's ceiling division
            return Term(-self.value, "ceil/", (self.args[0].args[0], self.args[1]))
        return Term(-self.value, "neg", (self,))

    def __pos__(self) -> "Term":
        return self

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        if modulo is not None:  # a modular inverse: a number, not working anyone reads
            return pow(int(self), int(other), int(modulo))
        other = _lift(other)
        return Term(self.value ** other.value, "^", (self, other))

    def __rpow__(self, other: Any) -> "Term":
        return _lift(other) ** self

    def __floor__(self) -> "Term":
        return self if type(self.value) is int else Term(int(self.value // 1), "floor", (self,))

    def __ceil__(self) -> "Term":
        return self if type(self.value) is int else Term(-int(-self.value // 1), "ceil", (self,))

    def __round__(self, ndigits: Any = None) -> "Term":
        if ndigits is not None:
            return Term(round(self.value, ndigits), "round", (self,))
        return self if type(self.value) is int else Term(round(self.value), "round", (self,))

    def __abs__(self) -> "Term":
        return self if self.value >= 0 else -self

    # -- everything that decides or converts uses the value -----------------------------------

    def __eq__(self, other: Any) -> bool:
        return self.value == (other.value if isinstance(other, Term) else other)

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __lt__(self, other: Any) -> bool:
        return self.value < (other.value if isinstance(other, Term) else other)

    def __le__(self, other: Any) -> bool:
        return self.value <= (other.value if isinstance(other, Term) else other)

    def __gt__(self, other: Any) -> bool:
        return self.value > (other.value if isinstance(other, Term) else other)

    def __ge__(self, other: Any) -> bool:
        return self.value >= (other.value if isinstance(other, Term) else other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __index__(self) -> int:
        if type(self.value) is not int:
            raise TypeError(f"{self.value!r} is not a whole number")
        return self.value

    def __int__(self) -> int:
        return int(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"Term({text(self)} = {self.value!r})"

    # numbers.Rational's protocol, so that Fraction(term) works (as a constant)
    @property
    def numerator(self) -> int:
        return Fraction(self.value).numerator

    @property
    def denominator(self) -> int:
        return Fraction(self.value).denominator

    # -- the hooks layers/geometry.py calls -------------------------------------------------

    def at_least(self, low: Any) -> "Term":
        """max(self, low), kept in the working."""
        low = _lift(low)
        return Term(max(self.value, low.value), "max", (self, low))

    def exact_div(self, other: Any) -> "Term":
        """self // other where the rule knows it divides exactly (C/g): written as a plain division."""
        other = _lift(other)
        if _is_const(other, 1):
            return self
        return Term(self.value // other.value, "/", (self, other))

    def named(self, name: str) -> "Term":
        """This value under a name: the working shows the name, and a "where" line its derivation."""
        return Term(self.value, "def", (self,), name)


numbers.Rational.register(Term)


def sym(name: str, value: Number) -> Term:
    """A named input of a rule: `sym("k", 3)`."""
    return Term(value, "sym", (), name)


def add(a: Term, b: Term) -> Term:
    if _is_const(b, 0):
        return a
    if _is_const(a, 0):
        return b
    if a.op == "-" and b.op == "num" and a.args[1].op == "num" and a.args[1].value == b.value:
        return a.args[0]  # (x - c) + c
    return Term(a.value + b.value, "+", (a, b))


def sub(a: Term, b: Term) -> Term:
    if _is_const(b, 0):
        return a
    if a.op == "+" and b.op == "num" and a.args[1].op == "num" and a.args[1].value == b.value:
        return a.args[0]  # (x + c) - c
    if b.op == "+":  # a - (x + y) = a - x - y
        return sub(sub(a, b.args[0]), b.args[1])
    if b.op == "-":  # a - (x - y) = a - x + y
        return add(sub(a, b.args[0]), b.args[1])
    return Term(a.value - b.value, "-", (a, b))


def mul(a: Term, b: Term) -> Term:
    if _is_const(a, 0) or _is_const(b, 0):
        return Term(0, "num")  # 0*x: a term that is not there (a merge's first position)
    if _is_const(a, 1):
        return b
    if _is_const(b, 1):
        return a
    return Term(a.value * b.value, "*", (a, b))


def floordiv(a: Term, b: Term) -> Term:
    if _is_const(b, 1):
        return a
    return Term(a.value // b.value, "//", (a, b))


def exact(term: Any) -> Any:
    """The same working with every floor division made exact: `floor((7 - 3) / 3) + 1` becomes
    `(7 - 3) / 3 + 1` = 7/3, the course notes' "does not fit" quotient."""
    if not isinstance(term, Term) or not term.args:
        return term
    args = tuple(exact(a) for a in term.args)
    if term.op in ("//", "ceil/", "/"):
        return Term(_div(args[0].value, args[1].value), "/", args)
    if term.op in ("floor", "ceil", "round"):
        return args[0]
    if term.op == "def":
        return args[0]
    value = {"+": lambda: args[0].value + args[1].value, "-": lambda: args[0].value - args[1].value,
             "*": lambda: args[0].value * args[1].value, "neg": lambda: -args[0].value,
             "%": lambda: args[0].value % args[1].value, "^": lambda: args[0].value ** args[1].value,
             "max": lambda: max(args[0].value, args[1].value)}[term.op]()
    return Term(value, term.op, args, term.name)


def symbols(term: Any) -> Iterator[str]:
    """The names of the inputs a working reads (named intermediates stop the search)."""
    if not isinstance(term, Term):
        return
    if term.op in ("sym", "def"):
        yield term.name
        return
    for arg in term.args:
        yield from symbols(arg)


def definitions(term: Any) -> list[Term]:
    """The named intermediates in a working, innermost first, each once."""
    found: list[Term] = []

    def visit(t: Any) -> None:
        if not isinstance(t, Term):
            return
        for arg in t.args:
            visit(arg)
        if t.op == "def" and all(t.name != f.name for f in found):
            found.append(t)

    visit(term)
    return found


# --------------------------------------------------------------------------------------------
# Rendering


def number(value: Number, latex: bool = False, group: bool = False) -> tuple[str, int]:
    """(text, precedence) of a value: 3, -3, 7/3, 0.5; `group` writes 86,400."""
    if isinstance(value, bool):
        return str(value).lower(), ATOM
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, int):
        digits = f"{abs(value):,}" if group else str(abs(value))
        if latex:
            digits = digits.replace(",", "{,}")
        return ("-" + digits, UNARY) if value < 0 else (digits, ATOM)
    if isinstance(value, Fraction):
        sign = "-" if value < 0 else ""
        if latex:
            return f"{sign}\\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}", UNARY if sign else ATOM
        return f"{sign}{abs(value.numerator)}/{value.denominator}", PRODUCT
    text_ = f"{value:.6g}"
    return text_, UNARY if text_.startswith("-") else ATOM


def decimal(value: Number) -> str:
    """A value for reading: 28, 86,400, 2.33 (two decimals where it is not whole)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    text_ = f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return text_


def _latex_name(name: str) -> str:
    base, _, sub_ = name.partition("_")
    prime = ""
    while base.endswith("'"):
        base, prime = base[:-1], prime + "'"
    base = base if len(base) == 1 else f"\\text{{{base}}}"
    if sub_:
        sub_ = sub_ if len(sub_) == 1 else f"\\text{{{sub_}}}"
        return f"{base}{prime}_{{{sub_}}}"
    return base + prime


FUNCTIONS = {"floor": ("floor(", ")", "\\lfloor ", " \\rfloor"), "ceil": ("ceil(", ")", "\\lceil ", " \\rceil"),
             "round": ("round(", ")", "\\operatorname{round}(", ")")}


def _render(t: Term, latex: bool, values: bool) -> tuple[str, int]:
    op = t.op
    if op == "num" or (values and op in ("sym", "def")):
        return number(t.value, latex)
    if op in ("sym", "def"):
        return (_latex_name(t.name) if latex else t.name), ATOM

    def part(arg: Term, minimum: int, strict: bool = False) -> str:
        s, p = _render(arg, latex, values)
        wrap = p < minimum or (strict and p == minimum)
        if not wrap and s.startswith("-") and minimum > 0:
            wrap = True  # a + (-3), 2*(-1)
        if wrap:
            return f"\\left({s}\\right)" if latex else f"({s})"
        return s

    a = t.args
    if op == "+":
        return f"{part(a[0], SUM)} + {_render_right(a[1], latex, values, SUM, strict=False)}", SUM
    if op == "-":
        return f"{part(a[0], SUM)} - {_render_right(a[1], latex, values, SUM, strict=True)}", SUM
    if op == "*":
        left = part(a[0], PRODUCT, strict=a[0].op in ("/", "%"))  # (C / g)*k, not C / g*k
        right_s, right_p = _render(a[1], latex, values)
        if right_p < PRODUCT or (right_p == PRODUCT and a[1].op in ("/", "%", "num")) or right_s.startswith("-"):
            right_s = f"\\left({right_s}\\right)" if latex else f"({right_s})"
        return (f"{left} \\cdot {right_s}" if latex else f"{left}*{right_s}"), PRODUCT
    if op in ("/", "//", "ceil/"):
        if latex:
            num, _ = _render(a[0], latex, values)
            den, _ = _render(a[1], latex, values)
            frac = f"\\frac{{{num}}}{{{den}}}"
            if op == "//":
                return f"\\left\\lfloor {frac} \\right\\rfloor", ATOM
            if op == "ceil/":
                return f"\\left\\lceil {frac} \\right\\rceil", ATOM
            return frac, ATOM
        inner = f"{part(a[0], PRODUCT)} / {part(a[1], PRODUCT, strict=True)}"
        if op == "//":
            return f"floor({inner})", ATOM
        if op == "ceil/":
            return f"ceil({inner})", ATOM
        return inner, PRODUCT
    if op == "%":
        joiner = " \\bmod " if latex else " mod "
        return f"{part(a[0], PRODUCT)}{joiner}{part(a[1], PRODUCT, strict=True)}", PRODUCT
    if op == "neg":
        return f"-{part(a[0], UNARY)}", UNARY
    if op == "^":
        base = part(a[0], ATOM)
        exponent, _ = _render(a[1], latex, values)
        return (f"{base}^{{{exponent}}}" if latex else f"{base}^{part(a[1], ATOM)}"), ATOM
    if op == "max":
        inner = ", ".join(_render(arg, latex, values)[0] for arg in a)
        return (f"\\max\\left({inner}\\right)" if latex else f"max({inner})"), ATOM
    if op in FUNCTIONS:
        open_t, close_t, open_l, close_l = FUNCTIONS[op]
        inner, _ = _render(a[0], latex, values)
        return (f"{open_l}{inner}{close_l}" if latex else f"{open_t}{inner}{close_t}"), ATOM
    raise ValueError(f"unknown operation {op!r}")


def _render_right(arg: Term, latex: bool, values: bool, minimum: int, strict: bool) -> str:
    s, p = _render(arg, latex, values)
    if p < minimum or (strict and p == minimum) or s.startswith("-"):
        return f"\\left({s}\\right)" if latex else f"({s})"
    return s


def text(term: Any, values: bool = False) -> str:
    """The working as text: with its symbols, or with `values` substituted."""
    return _render(_lift(term), False, values)[0]


def latex(term: Any, values: bool = False) -> str:
    """The working in LaTeX, for Markdown ($...$)."""
    return _render(_lift(term), True, values)[0]


def addends(term: Any) -> list[tuple[str, Term]]:
    """The top-level sum of a working as (sign, addend) pairs: a + b - c -> [+a, +b, -c]."""
    term = _lift(term)
    if term.op == "+":
        return addends(term.args[0]) + addends(term.args[1])
    if term.op == "-":
        return addends(term.args[0]) + [("-" if sign == "+" else "+", t) for sign, t in addends(term.args[1])]
    return [("+", term)]


def steps(term: Any, latex_: bool = False) -> str:
    """The working one step before its value: each top-level addend evaluated, `675 + 9,600`;
    '' when that says nothing new (a single addend, or every addend a plain number already)."""
    parts = addends(term)
    if len(parts) < 2 or all(t.op in ("num", "sym") for _, t in parts):
        return ""
    out = []
    for i, (sign, t) in enumerate(parts):
        value, _ = number(t.value, latex_, group=True)
        if value.startswith("-"):
            sign, value = ("+" if sign == "-" else "-"), value[1:]
        if i == 0:
            out.append(value if sign == "+" else f"-{value}")
        else:
            out.append(f" {sign} {value}")
    return "".join(out)

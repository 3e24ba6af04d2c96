"""statsmodels (patsy) formulas in the engine's spelling, and patsy's names for the results.

The engine reads lme4's formula language and evaluates derived columns itself, so a patsy
formula is translated token by token: ``I(age ** 2)`` becomes ``I(age^2)``,
``np.log(x)`` becomes ``log(x)``, ``Q('yield')`` becomes a backquoted name, ``C(x)`` and
``C(x, Treatment('b'))`` stay as they are. A Python expression the engine cannot evaluate
is refused with a message that names the supported spellings; nothing is evaluated in
Python.

Each translated factor remembers the user's spelling in patsy's normalized form
(``I(age ** 2)``), so that results are indexed by the names statsmodels would give.
"""

from __future__ import annotations

import io
import keyword
import re
import token
import tokenize
from dataclasses import dataclass, field

SUPPORTED = (
    "supported in formulas: column names, Q('name') for a name that is not a Python "
    "identifier, C(x), C(x, Treatment('b')), C(x, Sum), I(...) with + - * / ** and numbers, "
    "np.log / np.log2 / np.log10 / np.exp / np.sqrt / np.abs (numpy. or bare), center(x); "
    "otherwise compute the column in the data first"
)

# numpy (or math) functions and their engine names
_FUNCTIONS = {"log": "log", "log2": "log2", "log10": "log10", "exp": "exp", "sqrt": "sqrt",
              "abs": "abs", "absolute": "abs", "fabs": "abs"}
_MODULES = {"np", "numpy", "math"}
_TERM_OPS = {"+", "-", "*", "/", ":", "**", "~", "|", "||"}
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")


class FormulaError(ValueError):
    """A formula the engine cannot read, with the position marked."""


@dataclass
class Translation:
    """A formula in the engine's spelling, and the user's spelling of each factor."""

    engine: str
    # engine spelling of each factor -> patsy's normalized spelling
    factors: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(k != v for k, v in self.factors.items())


def quote(name: str) -> str:
    """A column name as the engine reads it (backquoted unless an R-syntactic name)."""
    if _R_NAME.match(name) and not keyword.iskeyword(name) and name not in ("TRUE", "FALSE"):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as e:
        raise FormulaError(f"malformed formula: {e}\n  {text}") from None
    return [t for t in toks if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER,
                                              tokenize.INDENT, tokenize.DEDENT)]


def _error(text: str, col: int, message: str) -> FormulaError:
    return FormulaError(f"{message}\n  {text}\n  {' ' * col}^\n{SUPPORTED}")


class _Parser:
    """A recursive descent over Python tokens: formula operators at the top, factors below."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.factors: dict[str, str] = {}

    # ---- helpers ----
    def peek(self, k: int = 0) -> tokenize.TokenInfo | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> tokenize.TokenInfo:
        t = self.peek()
        if t is None:
            raise _error(self.text, len(self.text), "malformed formula: it ends too early")
        self.i += 1
        return t

    def expect(self, s: str) -> tokenize.TokenInfo:
        t = self.next()
        if t.string != s:
            raise _error(self.text, t.start[1], f"malformed formula: expected `{s}`")
        return t

    # ---- formula level ----
    def formula(self) -> str:
        out = []
        while self.peek() is not None:
            t = self.peek()
            if t.type == token.OP and t.string in _TERM_OPS:
                self.i += 1
                op = t.string
                nxt = self.peek()
                if op == "|" and nxt is not None and nxt.string == "|":  # lme4's `||`
                    self.i += 1
                    op = "||"
                out.append(" ^ " if op == "**" else f" {op} ")
            elif t.type == token.OP and t.string == "(":
                out.append(self.group())
            elif t.type == token.OP and t.string == ")":
                raise _error(self.text, t.start[1], "malformed formula: unmatched `)`")
            else:
                out.append(self.factor())
        return "".join(out).strip()

    def group(self) -> str:
        self.expect("(")
        depth, start = 1, self.i
        while True:
            t = self.next()
            if t.string == "(":
                depth += 1
            elif t.string == ")":
                depth -= 1
                if depth == 0:
                    break
        inner = _Parser.__new__(_Parser)
        inner.text, inner.toks, inner.i, inner.factors = self.text, self.toks[start:self.i - 1], 0, self.factors
        return "(" + inner.formula() + ")"

    def factor(self) -> str:
        start = self.i
        t = self.next()
        if t.type == token.NUMBER:
            return t.string
        if t.type != token.NAME:
            raise _error(self.text, t.start[1], f"cannot read `{t.string}` here")
        # a dotted name, optionally called
        parts = [t.string]
        while self.peek() is not None and self.peek().string == "." :
            self.i += 1
            parts.append(self.next().string)
        name = ".".join(parts)
        nxt = self.peek()
        if nxt is None or nxt.string != "(":
            if len(parts) > 1:
                raise _error(self.text, t.start[1], f"cannot evaluate `{name}` in a formula")
            engine = quote(name) if name not in ("True", "False") else name
            self.factors[engine] = name
            return engine
        args_start = self.i
        args = self.call_args()
        patsy = normalize(self.toks[start:self.i])
        engine = self.translate_call(name, args, t.start[1], self.toks[args_start:self.i])
        self.factors[engine] = patsy
        return engine

    def call_args(self) -> list[list[tokenize.TokenInfo]]:
        """The tokens of each top-level argument of a call (the `(` is next)."""
        self.expect("(")
        args: list[list[tokenize.TokenInfo]] = [[]]
        depth = 1
        while True:
            t = self.next()
            if t.string in "([{" and t.type == token.OP:
                depth += 1
            elif t.string in ")]}" and t.type == token.OP:
                depth -= 1
                if depth == 0:
                    break
            if depth == 1 and t.string == "," and t.type == token.OP:
                args.append([])
                continue
            args[-1].append(t)
        return [a for a in args if a]

    def translate_call(self, name: str, args, col: int, _toks) -> str:
        head, _, last = name.rpartition(".")
        if name == "Q":
            if len(args) == 1 and args[0][0].type == token.STRING and len(args[0]) == 1:
                return quote(_string_value(args[0][0].string))
            raise _error(self.text, col, "Q() takes one quoted column name, as in Q('yield')")
        if name == "C":
            return self.categorical(args, col)
        if name == "I":
            if len(args) != 1:
                raise _error(self.text, col, "I() takes one expression, as in I(x ** 2)")
            return "I(" + self.arith(args[0]) + ")"
        if (head in _MODULES or head == "") and last in _FUNCTIONS:
            if len(args) != 1:
                raise _error(self.text, col, f"{name}() takes one argument here")
            return f"{_FUNCTIONS[last]}({self.arith(args[0])})"
        if name in ("center", "poly"):
            return f"{name}(" + ", ".join(self.arith(a) for a in args) + ")"
        if name in ("scale", "standardize"):
            raise _error(
                self.text, col,
                f"{name}(x) is refused: patsy's {name} divides by the population SD "
                "(ddof=0) and the engine's scale() by the sample SD (n - 1), so the same "
                "formula would give other coefficients; add the standardized column to "
                "the data, or use center(x)",
            )
        raise _error(self.text, col, f"cannot evaluate `{name}(...)` in a formula")

    def categorical(self, args, col: int) -> str:
        if not args or len(args) > 2:
            raise _error(self.text, col, "C() takes a column and an optional contrast")
        sub = _Parser.__new__(_Parser)
        sub.text, sub.toks, sub.i, sub.factors = self.text, args[0], 0, {}
        inner = sub.factor()
        if sub.i != len(args[0]):
            raise _error(self.text, col, "C() takes a column name (or Q('name')) first")
        if len(args) == 1:
            return f"C({inner})"
        contrast = args[1]
        cname = contrast[0].string
        if cname == "Sum" and len(contrast) == 1:
            return f"C({inner}, Sum)"
        if cname == "Treatment":
            if len(contrast) == 1:
                return f"C({inner})"
            ref = [t for t in contrast[1:] if t.type in (token.STRING, token.NUMBER, token.NAME)
                   and t.string != "reference"]
            if len(ref) == 1:
                value = ref[0].string
                if ref[0].type == token.STRING:
                    value = _string_value(value)
                elif ref[0].type == token.NAME and value in ("True", "False"):
                    value = value.upper()
                return f"C({inner}, Treatment(reference = {_r_string(value)}))"
        raise _error(
            self.text, contrast[0].start[1],
            "this contrast is not supported; use Treatment, Treatment('level') or Sum",
        )

    def arith(self, toks: list[tokenize.TokenInfo]) -> str:
        """Python arithmetic inside I() or a function, in the engine's spelling."""
        out = []
        j = 0
        while j < len(toks):
            t = toks[j]
            if t.type == token.NUMBER:
                out.append(t.string)
            elif t.type == token.OP and t.string in ("+", "-", "*", "/", "(", ")"):
                out.append(t.string)
            elif t.type == token.OP and t.string == "**":
                out.append("^")
            elif t.type == token.NAME:
                # a (dotted) name, maybe called
                k = j
                parts = [t.string]
                while k + 2 < len(toks) and toks[k + 1].string == ".":
                    parts.append(toks[k + 2].string)
                    k += 2
                if k + 1 < len(toks) and toks[k + 1].string == "(":
                    depth, m = 0, k + 1
                    while m < len(toks):
                        if toks[m].string == "(":
                            depth += 1
                        elif toks[m].string == ")":
                            depth -= 1
                            if depth == 0:
                                break
                        m += 1
                    sub = _Parser.__new__(_Parser)
                    sub.text, sub.toks, sub.i, sub.factors = self.text, toks[j:m + 1], 0, {}
                    out.append(sub.factor())
                    j = m + 1
                    continue
                if len(parts) > 1:
                    raise _error(self.text, t.start[1], f"cannot evaluate `{'.'.join(parts)}`")
                out.append(quote(t.string))
                j = k
            else:
                raise _error(self.text, t.start[1], f"cannot evaluate `{t.string}` in I()")
            j += 1
        return "".join(out)


def _string_value(literal: str) -> str:
    import ast

    return str(ast.literal_eval(literal))


def _r_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def normalize(toks: list[tokenize.TokenInfo]) -> str:
    """patsy's normalized spelling of a factor: binary operators spaced, `, ` after commas."""
    out: list[str] = []
    prev: tokenize.TokenInfo | None = None
    binary = {"+", "-", "*", "/", "**", "%", "//", "==", "!=", "<", ">", "<=", ">=", "&", "|", "^"}
    depth_kw = 0
    for t in toks:
        s = t.string
        if t.type == token.OP and s in binary:
            unary = s in ("+", "-") and (prev is None or (prev.type == token.OP and prev.string not in (")", "]")))
            out.append(s if unary else f" {s} ")
        elif t.type == token.OP and s == ",":
            out.append(", ")
        elif t.type == token.OP and s == "=":
            out.append("=")
            depth_kw += 1
        else:
            out.append(s)
        prev = t
    return "".join(out)


def translate(formula: str) -> Translation:
    """A patsy formula (statsmodels' idiom) in the engine's spelling."""
    p = _Parser(formula)
    engine = p.formula()
    return Translation(engine=engine, factors=p.factors)


def translate_rhs(formula: str) -> Translation:
    """A one-sided formula (``re_formula``, a ``vc_formula`` entry): ``~x``, ``1``, ``0 + C(c)``."""
    t = translate(formula)
    engine = t.engine
    if engine.startswith("~"):
        engine = engine[1:].strip()
    return Translation(engine=engine, factors=t.factors)

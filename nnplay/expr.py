"""A small, safe expression language for custom losses and activations.

A user writes ``mean((y_pred - y)**4)`` or ``x * sigmoid(x)``. The text is parsed with ``ast``
and every node checked against a whitelist before anything runs; the checked tree is compiled
into nested Python closures over torch functions (no ``eval``, no ``exec``, no attribute access,
no names beyond the variables and the fixed function table). Autograd differentiates the result.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_CHARS = 300
MAX_PARENS = 24  # nesting of parentheses in the text
MAX_DEPTH = 64  # nesting of the parsed tree (a long sum nests too)
MAX_NODES = 120
MAX_LITERAL = 1e6
MAX_EXPONENT = 16

# name -> (number of arguments, torch function). Only these can be called.
FUNCTIONS: dict[str, tuple[int, Callable]] = {
    "abs": (1, torch.abs),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "log1p": (1, torch.log1p),
    "sqrt": (1, torch.sqrt),
    "sin": (1, torch.sin),
    "cos": (1, torch.cos),
    "tanh": (1, torch.tanh),
    "sigmoid": (1, torch.sigmoid),
    "relu": (1, torch.relu),
    "softplus": (1, F.softplus),
    "cosh": (1, torch.cosh),
    "clamp": (3, lambda v, lo, hi: torch.minimum(torch.maximum(v, lo), hi)),
    "minimum": (2, torch.minimum),
    "maximum": (2, torch.maximum),
    "where": (3, torch.where),
    "mean": (1, torch.mean),
    "sum": (1, torch.sum),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_COMPARE = {ast.Lt: torch.lt, ast.LtE: torch.le, ast.Gt: torch.gt, ast.GtE: torch.ge}
_BINARY = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div, ast.Pow: torch.pow}
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9_+\-*/().,<>=\s]*")

LOSS_VARIABLES = ("y_pred", "y")
ACTIVATION_VARIABLES = ("x",)


class ExprError(ValueError):
    """The expression was refused; the message points at the offending part."""

    def __init__(self, message: str, text: str = "", column: int | None = None):
        if text and column is not None:
            message = f"{message}\n  {text}\n  {' ' * column}^"
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Expression:
    """A checked, compiled expression: call it with tensors for its variables."""

    text: str
    variables: tuple[str, ...]
    _fn: Callable

    def __call__(self, **values: torch.Tensor) -> torch.Tensor:
        return self._fn(values)


def compile_expr(text: str, variables: tuple[str, ...]) -> Expression:
    """Check ``text`` against the whitelist and compile it; ExprError (never anything else) if refused."""
    if not isinstance(text, str):
        raise ExprError("an expression is text")
    if len(text) > MAX_CHARS:
        raise ExprError(f"the expression is longer than {MAX_CHARS} characters")
    if not text.strip():
        raise ExprError("the expression is empty")
    bad = next((i for i, ch in enumerate(text) if not _ALLOWED_CHARS.fullmatch(ch)), None)
    if bad is not None:  # also keeps out unicode look-alikes, which Python would silently normalise
        raise ExprError(f"character {text[bad]!r} is not allowed", text, bad)
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth > MAX_PARENS:
            raise ExprError(f"parentheses nest deeper than {MAX_PARENS}", text, i)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        column = (exc.offset or 1) - 1 if exc.offset else None
        raise ExprError(f"not a valid expression: {exc.msg}", text.strip(), column) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExprError(f"not a valid expression: {type(exc).__name__}") from None
    checker = _Compiler(text.strip(), variables)
    try:
        fn = checker.compile(tree.body, depth=0)
    except (OverflowError, ValueError, TypeError, RecursionError) as exc:
        if isinstance(exc, ExprError):
            raise
        raise ExprError(f"not a usable expression: {type(exc).__name__}") from None
    return Expression(text.strip(), variables, fn)


class _Compiler:
    def __init__(self, text: str, variables: tuple[str, ...]):
        self.text, self.variables, self.nodes = text, variables, 0

    def fail(self, message: str, node: ast.AST):
        raise ExprError(message, self.text, getattr(node, "col_offset", None))

    def compile(self, node: ast.AST, depth: int) -> Callable[[dict], torch.Tensor]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"the expression has more than {MAX_NODES} parts", node)
        if depth > MAX_DEPTH:
            self.fail("the expression is too long or too deeply nested", node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.compile(node.operand, depth + 1)
            return (lambda env: -inner(env)) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            if isinstance(node.op, ast.Pow):
                self._check_exponent(node.right)
            left, right = self.compile(node.left, depth + 1), self.compile(node.right, depth + 1)
            op = _BINARY[type(node.op)]
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Compare):
            self.fail("comparisons are only allowed as the first argument of where(...)", node)
        what = {
            ast.Attribute: "attribute access",
            ast.Subscript: "indexing",
            ast.Lambda: "lambda",
            ast.ListComp: "comprehensions",
            ast.GeneratorExp: "comprehensions",
            ast.BoolOp: "and/or",
            ast.IfExp: "if/else (use where)",
            ast.Starred: "unpacking",
        }.get(type(node), type(node).__name__)
        self.fail(f"{what} is not allowed", node)

    def _constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"only numbers are allowed as constants, not {type(value).__name__}", node)
        # abs() first: a long hex literal is an int too big for float(), which would overflow.
        if abs(value) > MAX_LITERAL or not math.isfinite(value):
            self.fail(f"numbers must be at most {MAX_LITERAL:g} in size", node)
        number = float(value)
        return lambda env: torch.tensor(number)

    def _name(self, node: ast.Name):
        if node.id in self.variables:
            name = node.id
            return lambda env: env[name]
        if node.id in CONSTANTS:
            number = CONSTANTS[node.id]
            return lambda env: torch.tensor(number)
        hint = "; call functions with parentheses" if node.id in FUNCTIONS else ""
        allowed = ", ".join(self.variables)
        self.fail(f"unknown name {node.id!r}: use {allowed}, pi, e or a function{hint}", node)

    def _check_exponent(self, node: ast.AST):
        literal = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if isinstance(literal, ast.Constant) and isinstance(literal.value, (int, float)):
            if abs(literal.value) > MAX_EXPONENT:
                self.fail(f"exponents are limited to ±{MAX_EXPONENT}", node)
            return
        self.fail("an exponent must be a plain number (e.g. **4)", node)

    def _call(self, node: ast.Call, depth: int):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)[:30]
            self.fail(f"{name!r} is not an allowed function; use one of: {', '.join(FUNCTIONS)}", node)
        if node.keywords:
            self.fail("keyword arguments are not allowed", node.keywords[0].value)
        arity, fn = FUNCTIONS[node.func.id]
        if len(node.args) != arity:
            self.fail(f"{node.func.id}() takes {arity} argument{'s' * (arity > 1)}, not {len(node.args)}", node)
        args = list(node.args)
        compiled = []
        for i, arg in enumerate(args):
            if isinstance(arg, ast.Compare):
                if node.func.id != "where" or i != 0:
                    self.fail("comparisons are only allowed as the first argument of where(...)", arg)
                compiled.append(self._compare(arg, depth + 1))
            else:
                compiled.append(self.compile(arg, depth + 1))
        return lambda env: fn(*(c(env) for c in compiled))

    def _compare(self, node: ast.Compare, depth: int):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            self.fail("use one comparison: <, <=, > or >=", node)
        left, right = self.compile(node.left, depth + 1), self.compile(node.comparators[0], depth + 1)
        op = _COMPARE[type(node.ops[0])]
        return lambda env: op(left(env), right(env))


# --- checks on a probe, before anything trains -------------------------------------------------


def _probe(seed: int = 0, n: int = 16):
    """Predictions strictly inside (0, 1) and 0/1 targets: what a classifier's loss sees, and
    plausible for a regression loss too (so a cross-entropy written by hand passes)."""
    g = torch.Generator().manual_seed(seed)
    y_pred = 0.05 + 0.9 * torch.rand(n, generator=g)
    y = (torch.rand(n, generator=g) > 0.5).float()
    return y_pred, y


def check_loss(text: str) -> Expression:
    """A loss of ``y_pred`` and ``y``: must give a finite scalar with a finite, non-zero gradient."""
    expr = compile_expr(text, LOSS_VARIABLES)
    y_pred, y = _probe()
    y_pred.requires_grad_(True)
    with torch.enable_grad():
        out = _run(expr, y_pred=y_pred, y=y)
        if out.numel() != 1:
            raise ExprError("a loss must reduce to one number: wrap it in mean(...) or sum(...)")
        _finite(out, "the loss")
        _depends(out, "y_pred")
        out.reshape(()).backward()
    _usable_gradient(y_pred.grad, "y_pred")
    return expr


def check_activation(text: str) -> Expression:
    """An activation of ``x``: elementwise (same shape out), finite, with a finite gradient."""
    expr = compile_expr(text, ACTIVATION_VARIABLES)
    x = torch.linspace(-4, 4, 33, requires_grad=True)
    with torch.enable_grad():
        out = _run(expr, x=x)
        if out.shape != x.shape:
            raise ExprError("an activation works element by element: do not use mean(...) or sum(...)")
        _finite(out, "the activation")
        _depends(out, "x")
        out.sum().backward()
    _usable_gradient(x.grad, "x")
    return expr


def _run(expr: Expression, **values):
    try:
        out = expr(**values)
    except (RuntimeError, OverflowError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise ExprError(f"the expression failed on a test input: {str(exc).splitlines()[0][:200]}") from None
    return torch.as_tensor(out)


def _finite(out: torch.Tensor, what: str):
    if not torch.isfinite(out).all():
        raise ExprError(f"{what} is not finite on a test input (e.g. log or sqrt of a negative number, or 1/0)")


def _depends(out: torch.Tensor, name: str):
    if not out.requires_grad:
        raise ExprError(f"the expression does not depend on {name}, so nothing can be learned from it")


def _usable_gradient(grad: torch.Tensor | None, name: str):
    if grad is None or not torch.isfinite(grad).all():
        raise ExprError(f"the gradient with respect to {name} is not finite on a test input")
    if not grad.abs().sum() > 0:
        raise ExprError(f"the expression does not depend on {name}, so nothing can be learned from it")

"""How long checking a user's expression takes, worst case: the figure tests/test_expr.py no longer times.

Run: python -m bench.expr  (prints the slowest checks of the hostile corpus and of random texts)

The compiler's limits (characters, parts, nesting, exponents) are what bound this cost; a check
of a few milliseconds is fine, one of a second would let a visitor stall a server thread.
"""

import contextlib
import random
import string
import time

from nnplay.expr import ExprError, check_activation, check_loss
from tests.test_expr import INJECTIONS

ALPHABET = "xy_pred()+-*/.,<>=0123456789 " + string.ascii_lowercase


def seconds(text: str) -> float:
    start = time.perf_counter()
    for check in (check_activation, check_loss):
        with contextlib.suppress(ExprError):
            check(text)
    return time.perf_counter() - start


def main(n_random: int = 2000, seed: int = 0) -> None:
    rng = random.Random(seed)
    texts = [("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 80))), "random") for _ in range(n_random)]
    timed = sorted(((seconds(t), kind, t) for t, kind in [*((t, "corpus") for t in INJECTIONS), *texts]), reverse=True)
    print(f"{len(timed)} texts checked; the slowest five:")
    for took, kind, text in timed[:5]:
        print(f"  {took * 1000:8.2f} ms  {kind:6}  {text[:60]!r}")


if __name__ == "__main__":
    main()

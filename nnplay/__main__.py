"""Command line: ``python -m nnplay train [--FIELD VALUE ...] [--json]``.

The flags are the Config's fields, spelled as in the URL query params.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import divergence
from .config import PRESETS, Config
from .data import DataError, read_csv
from .export import ExportError, export
from .losses import LossError
from .train import Trainer


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="python -m nnplay", description="Build a small network in PyTorch and train it."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train one experiment and print a summary",
        epilog=(
            "exit status: 0 when the run trained to the end of its budget (status done) or stopped early "
            "(early_stopped); 1 when it diverged (status diverged, the message says why and what to try): the "
            f"loss stopped being a finite number, blew up (above {divergence.FACTOR:g} times its starting value in "
            f"{divergence.EPOCHS} epochs) or ended above {divergence.END_FACTOR:g} times its start; 2 for a bad flag "
            "or value."
        ),
    )
    train.add_argument("--preset", choices=tuple(PRESETS), default="default", help="start from a ready-made experiment")
    train.add_argument("--csv", metavar="FILE", help="train on a CSV table (sets --dataset csv)")
    train.add_argument("--target", metavar="COLUMN", help="the CSV's target column (default: the last one)")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    Config.add_arguments(train)
    exporter = commands.add_parser("export", help="print the experiment as a standalone PyTorch script")
    exporter.add_argument(
        "--preset", choices=tuple(PRESETS), default="default", help="start from a ready-made experiment"
    )
    exporter.add_argument("--csv", metavar="FILE", help="a CSV table (sets --dataset csv); the script reads it")
    exporter.add_argument("--target", metavar="COLUMN", help="the CSV's target column (default: the last one)")
    Config.add_arguments(exporter)
    bench = commands.add_parser("bench", help="measure the engine against the article's loop and scikit-learn")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--quick", action="store_true", help="small sizes, one repeat (checks, not timings)")
    return parser, {"train": train, "export": exporter, "bench": bench}


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench":
        from .bench import report, run  # scikit-learn's MLP and pyarrow load only here

        result = run(quick=args.quick)
        print(json.dumps(result) if args.json else report(result))
        return 0 if result["equal_loss"] else 1
    train_parser = commands[args.command]
    base = PRESETS[args.preset]
    if args.command == "export":
        try:
            table = read_csv(args.csv, target=args.target) if args.csv else None
            config = Config.from_args(args, train_parser, base=base.replace(dataset="csv") if args.csv else base)
            print(export(config, table, args.csv or "data.csv"), end="")
        except (ExportError, LossError, DataError) as exc:
            print(f"nnplay: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.csv:
        base = base.replace(dataset="csv")
    elif args.target:
        train_parser.error("argument --target: only with --csv FILE")
    config = Config.from_args(args, train_parser, base=base)

    table = None
    try:
        if config.dataset == "csv":
            if not args.csv:
                train_parser.error("argument --dataset: 'csv' needs --csv FILE")
            table = read_csv(args.csv, target=args.target)
        trainer = Trainer(config, table)
    except (DataError, LossError, ValueError, OSError) as exc:
        print(f"nnplay: {exc}", file=sys.stderr)
        return 2
    trainer.run()
    summary = trainer.summary()
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print(_text(summary, trainer))
    return 1 if trainer.diverged else 0


def _text(s: dict, trainer) -> str:
    lines = [str(trainer.model), ""]
    lines.append(
        f"{s['task']} · loss {s['loss']} · {s['device']} · {s['epochs']} epochs in {s['seconds']:.2f} s "
        f"({s['epochs_per_second']} epochs/s) · {s['status']}"
    )
    if s["message"]:
        lines.append(s["message"])
    lines += [f"  {k:<16} {'n/a' if v is None else f'{v:.4f}'}" for k, v in s["final"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

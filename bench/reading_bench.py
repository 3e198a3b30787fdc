"""Pointing accuracy of a trained model on held-out screens: for every word a screenshot
shows, does the model point at a patch that shows it? (model/reading.py)

    screenpilot record expert --tasks synthetic.click-word --episodes 600 \\
        --seed 1000000 --out heldout          # screens no training run saw
    python bench/reading_bench.py --model RUN --data heldout

Printed as a markdown table by word length (bytes), with the share of words of 3+ letters.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a run or model directory")
    parser.add_argument("--data", required=True, help="held-out datasets, comma-separated")
    parser.add_argument("--max-samples", type=int, default=2000)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    from screenpilot.model.checkpoint import load_model, resolve_model_dir
    from screenpilot.model.reading import pointing_accuracy

    model = load_model(resolve_model_dir(args.model))
    result = pointing_accuracy(model, args.data.split(","), max_samples=args.max_samples)
    print(f"model {args.model}, held-out data {args.data}\n")
    print("| word length (bytes) | words | pointed at the word |")
    print("| --- | --- | --- |")
    for name, row in result.items():
        acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
        print(f"| {name} | {row['n']} | {acc} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

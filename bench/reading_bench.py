"""Pointing accuracy of a trained model on held-out screens: for every word a screenshot
shows, does the model point at a patch that shows it? (model/reading.py) Beside it, the
same for word spotting alone (the rendered word's best match, nothing learnt).

    screenpilot record expert --tasks synthetic.click-word --episodes 600 \\
        --seed 1000000 --out heldout          # screens no training run saw
    python bench/reading_bench.py --model RUN --data heldout
    python bench/reading_bench.py --data heldout     # word spotting alone

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
    parser.add_argument("--model", help="a run or model directory (none: spotting alone)")
    parser.add_argument("--data", required=True, help="held-out datasets, comma-separated")
    parser.add_argument("--max-samples", type=int, default=2000)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    from screenpilot.model.checkpoint import load_model, resolve_model_dir
    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.reading import pointing_accuracy, spotting_accuracy

    paths = args.data.split(",")
    results = {}
    config = VLAConfig()
    if args.model:
        model = load_model(resolve_model_dir(args.model))
        config = model.config
        if config.grounds:
            results["model"] = pointing_accuracy(model, paths, max_samples=args.max_samples)
        else:  # its pointer was never asked "where is W?": there is nothing to measure
            print(f"{args.model} was trained without the grounding objective "
                  "(model.grounding_weight 0): word spotting alone\n")  # fmt: skip
    results["spotting"] = spotting_accuracy(config, paths, max_samples=args.max_samples)
    print(f"model {args.model or '-'}, held-out data {args.data}\n")
    heads = {"model": "the model points at the word", "spotting": "word spotting alone"}
    print("| word length (bytes) | " + " | ".join(f"words | {heads[k]}" for k in results) + " |")
    print("| --- |" + " --- | --- |" * len(results))
    for name in results["spotting"]:
        cells = []
        for res in results.values():
            row = res[name]
            acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}%"
            cells.append(f"{row['n']} | {acc}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`screenpilot dataset ...`: inspect, check, repair, merge, render and view datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="inspect, check, repair, merge, render and view recorded datasets",
        description="Work with datasets of recorded episodes (video + input events + actions).",
    )
    verbs = parser.add_subparsers(dest="dataset_verb", metavar="VERB", required=True)

    p = verbs.add_parser(
        "info", help="episodes, steps, frames, duration, screen sizes, action types"
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = verbs.add_parser(
        "check",
        help="exit 0 when the dataset is sound, else print one line per problem",
        description="Check files, frame counts, event order and format version. Changes nothing.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument(
        "--deep", action="store_true", help="decode every frame instead of counting them"
    )
    p.set_defaults(func=cmd_check)

    p = verbs.add_parser(
        "repair",
        help="finish episodes whose recorder was killed",
        description="Recover unfinished episodes (a killed writer): keeps every event in "
        "the journal and every video frame that still decodes.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.set_defaults(func=cmd_repair)

    p = verbs.add_parser("merge", help="merge datasets into a new one")
    p.add_argument("sources", metavar="DIR", nargs="+", help="datasets to merge, in order")
    p.add_argument("--out", required=True, metavar="DIR", help="the new dataset (must not exist)")
    p.set_defaults(func=cmd_merge)

    p = verbs.add_parser("render", help="draw an episode's actions on its video (MP4)")
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument("--episode", type=int, default=0, metavar="I", help="episode index (default 0)")
    p.add_argument("--out", required=True, metavar="FILE", help="output .mp4")
    p.set_defaults(func=cmd_render)

    p = verbs.add_parser(
        "view",
        help="write a static HTML page of the episodes, their videos and action timelines",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument("--out", metavar="DIR", help="where to write the page (default DIR/view)")
    p.set_defaults(func=cmd_view)


def cmd_info(args: argparse.Namespace) -> int:
    from .maintenance import format_summary, summarize

    summary = summarize(args.path)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .maintenance import check_dataset

    problems = check_dataset(args.path, deep=args.deep)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{args.path}: ok")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from .format import read_info
    from .repair import recover_unfinished

    read_info(Path(args.path))
    recovered = recover_unfinished(args.path)
    for meta in recovered:
        print(
            f"recovered episode {meta['index']}: {meta['num_frames']} frames, "
            f"{meta['num_events']} events, {meta['length']} steps"
        )
    if not recovered:
        print(f"{args.path}: nothing to repair")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from .maintenance import merge_datasets

    info = merge_datasets(args.sources, args.out)
    print(
        f"{args.out}: {info['episodes']} episodes, {info['steps']} steps, {info['frames']} frames"
    )
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .reader import open_dataset
    from .render import render_episode

    episode = open_dataset(args.path)[args.episode]
    out = render_episode(episode, args.out, progress=True)
    print(f"wrote {out}")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from .reader import open_dataset
    from .viewer import write_viewer

    page = write_viewer(open_dataset(args.path), args.out, progress=True)
    print(f"wrote {page}  (open it in a browser)")
    return 0

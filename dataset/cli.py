"""`screenpilot dataset ...`: inspect, check, repair, compact, merge, render, view, export and
import datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="inspect, check, repair, compact, merge, render, view, export and import datasets",
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
        description="Recover unfinished episodes whose recorder died: keeps every event in "
        "the journal and every video frame that still decodes. An episode still being "
        "recorded is left alone.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument(
        "--force",
        action="store_true",
        help="also finish episodes whose recorder still holds them (one that hangs); "
        "what it records after that is lost",
    )
    p.set_defaults(func=cmd_repair)

    p = verbs.add_parser(
        "compact",
        help="seal finished episodes into chunks: a few large files instead of five per episode",
        description="Move every finished episode that still has files of its own into "
        "chunks (many episodes a parquet table and a video file, with an episode index). "
        "Reading is unchanged; bulk writers (record expert, merge, dagger) seal full "
        "chunks themselves. An episode being recorded is left alone.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument(
        "--chunk-episodes",
        type=int,
        metavar="N",
        help="episodes a chunk (default: the dataset's own, 1000 for a new one)",
    )
    p.set_defaults(func=cmd_compact)

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
        description="Write a page that lists the episodes (filtered by task, source and "
        "outcome, grouped by sandbox task) and plays one at a time with its actions drawn "
        "over the video, from the dataset's own files: nothing is rendered unless asked "
        "(--render). The page goes to DIR/view (or --out); nothing else in the dataset "
        "changes.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument(
        "--out", metavar="OUT", help="the folder to write the page in (default DIR/view)"
    )
    p.add_argument(
        "--render",
        type=int,
        nargs="+",
        default=(),
        metavar="I",
        help="also write annotated H.264 4:2:0 videos of these episodes, for browsers "
        "that cannot play the dataset's 4:4:4 video (Chromium and Chrome can)",
    )
    p.set_defaults(func=cmd_view)

    p = verbs.add_parser(
        "export",
        help="write a dataset in another tool's format (LeRobotDataset v3.0)",
        description="Write the dataset as a LeRobotDataset (v3.0, as LeRobot 0.4.4 reads it): "
        "a row per frame with the action taken from it (a float vector plus typed text and "
        "key columns), the real capture and action times, videos, tasks and stats.",
    )
    p.add_argument("path", metavar="DIR", help="dataset directory")
    p.add_argument("--format", required=True, choices=["lerobot"], help="the format to write")
    p.add_argument("--out", required=True, metavar="OUT", help="the new directory (must not exist)")
    p.add_argument(
        "--fps",
        type=int,
        metavar="N",
        help="rate of LeRobot's frame grid (default: the highest fps of the episodes; the "
        "real capture and action times are kept in their own columns)",
    )
    p.set_defaults(func=cmd_export)

    p = verbs.add_parser(
        "import",
        help="read a dataset of another tool's format (LeRobotDataset v3.x) into a new one",
        description="Read a LeRobotDataset with screenpilot's action columns (as `dataset "
        "export --format lerobot` writes them) back into a new dataset of ours.",
    )
    p.add_argument("path", metavar="SRC", help="the directory to read")
    p.add_argument("--format", required=True, choices=["lerobot"], help="the format of SRC")
    p.add_argument("--out", required=True, metavar="DIR", help="the new dataset (must not exist)")
    p.set_defaults(func=cmd_import)

    p = verbs.add_parser(
        "import-video",
        help="add a plain screen video (mp4, webm, mkv, ...) as an episode with no events",
        description="Add a screen video without input events to a dataset as one episode: "
        "its frames at their own presentation times (variable frame rates kept), no steps "
        "until a model labels them. Frames identical to the one before are dropped (their "
        "times keep the timing). The video file is only read.",
    )
    p.add_argument("file", metavar="FILE", help="the video file")
    p.add_argument("--task", required=True, metavar="TEXT", help="the episode's task text")
    p.add_argument(
        "--out", required=True, metavar="DIR", help="the dataset to add it to (made if new)"
    )
    p.add_argument(
        "--fps",
        type=float,
        metavar="N",
        help="resample to N frames a second: at each tick, the last frame at or before it",
    )
    p.add_argument(
        "--max-size",
        type=int,
        metavar="PX",
        help="scale frames down, keeping their aspect, so that neither side exceeds PX",
    )
    p.add_argument(
        "--keep-unchanged",
        action="store_true",
        help="keep frames identical to the one before (default: drop them)",
    )
    p.set_defaults(func=cmd_import_video)


def cmd_info(args: argparse.Namespace) -> int:
    from .maintenance import format_summary, summarize

    summary = summarize(args.path)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .journal import unfinished_episodes
    from .maintenance import check_dataset, recording_note

    problems = check_dataset(args.path, deep=args.deep)
    for line in problems:
        print(line)
    live = [u for u in unfinished_episodes(Path(args.path)) if u.live]
    note = f" ({recording_note(len(live), 'checked')})" if live else ""
    if problems:
        print(f"{len(problems)} problem(s) found{note}", file=sys.stderr)
        return 1
    print(f"{args.path}: ok{note}")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from .format import read_info
    from .repair import recover_unfinished

    read_info(Path(args.path))
    report = recover_unfinished(args.path, force=args.force)
    for episode in report.forced:
        print(
            f"warning: {episode.describe()} was still held by its recorder; finished it "
            "anyway (--force): anything it records from now on is lost",
            file=sys.stderr,
        )
    for meta in report.recovered:
        print(
            f"recovered episode {meta['index']}: {meta['num_frames']} frames, "
            f"{meta['num_events']} events, {meta['length']} steps"
        )
    for episode in report.live:
        print(
            f"{episode.describe()} is being recorded: left alone "
            "(--force finishes it anyway, if its recorder hangs)"
        )
    if report.removed:
        print(f"removed {len(report.removed)} file(s) an interrupted seal left behind")
    if not report.recovered and not report.live and not report.removed:
        print(f"{args.path}: nothing to repair")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from .chunks import seal_chunks
    from .errors import UserError
    from .format import read_info

    if args.chunk_episodes is not None and args.chunk_episodes < 1:
        raise UserError(f"--chunk-episodes must be at least 1, got {args.chunk_episodes}")
    read_info(Path(args.path))
    written = seal_chunks(args.path, partial=True, size=args.chunk_episodes)
    info = read_info(Path(args.path))
    print(f"{args.path}: {written} chunk(s) written; {len(info['chunks'])} chunks hold "
          f"{sum(info['chunks'])} of {info['episodes']} episodes")  # fmt: skip
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
    from .maintenance import recording_note
    from .reader import open_dataset
    from .viewer import write_viewer

    dataset = open_dataset(args.path)
    page = write_viewer(dataset, args.out, progress=True, render=args.render)
    print(f"wrote {page}  (open it in a browser)")
    if dataset.recording:
        print(recording_note(len(dataset.recording), "shown"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .lerobot import export_lerobot
    from .maintenance import recording_note
    from .reader import open_dataset

    dataset = open_dataset(args.path)
    info = export_lerobot(dataset, args.out, fps=args.fps, progress=True)
    print(
        f"{args.out}: LeRobotDataset {info['codebase_version']}, {info['total_episodes']} "
        f"episodes, {info['total_frames']} frames at {info['fps']} fps"
    )
    if dataset.recording:
        print(recording_note(len(dataset.recording), "exported"))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .lerobot import import_lerobot

    info = import_lerobot(args.path, args.out, progress=True)
    print(
        f"{args.out}: {info['episodes']} episodes, {info['steps']} steps, {info['frames']} frames"
    )
    return 0


def cmd_import_video(args: argparse.Namespace) -> int:
    from .import_video import import_video

    meta = import_video(args.file, args.task, args.out, fps=args.fps, max_size=args.max_size,
                        skip_unchanged=not args.keep_unchanged, progress=True)  # fmt: skip
    source = meta["metadata"]
    if source["decode_error"]:
        print(f"warning: {args.file}: decoding stopped early ({source['decode_error']}); "
              "the frames before it are kept", file=sys.stderr)  # fmt: skip
    print(
        f"{args.out}: episode {meta['index']}, {source['frames_kept']} of "
        f"{source['frames_read']} frames kept, {meta['duration']:.1f} s, "
        f"{meta['width']}x{meta['height']}"
    )
    return 0

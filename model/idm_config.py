"""The inverse dynamics model's hyper-parameters: the policy's (VLAConfig) plus the window
of frames it reads and the bytes of typed text it can read off the screen.

No torch here: `screenpilot train --kind idm` validates model fields with it.
"""

from __future__ import annotations

from .configuration import VLAConfig

# Policy inputs the IDM does without: it labels a frame from the frames around it, not
# from earlier labels (history), and reads no grounding, task-word or word-spotting
# inputs. Kept at 0 so that a saved config says what the model reads.
UNUSED_POLICY_FIELDS = (
    "history",
    "grounding_queries",
    "grounding_weight",
    "task_words",
    "spot_words",
)


class IDMConfig(VLAConfig):
    model_type = "screenpilot-idm"

    def __init__(
        self,
        # Frames before frame i in the window: frame i-1 shows whether the pointer was
        # already moving (a step's frame is the one before the pointer set off).
        frames_before: int = 1,
        # Frames after frame i: enough to see the pointer travel to its target and the
        # click land. In experts' desktop recordings at a person's pace (20 fps, unchanged
        # frames dropped) a press came 1-6 stored frames after its step's frame (87 clicks
        # of 6 MiniWoB tasks), and the page answers a frame or two later.
        frames_after: int = 10,
        # Bytes of typed text one frame can read: what was typed between frame i and i+1
        # (typing that spans frames is read frame by frame and joined).
        text_slots: int = 32,
        # "per_frame": a `type` step is learnt as the characters typed in each frame's
        # interval (its events say which); "whole": its whole text at its first frame,
        # which only a window as long as the typing can read.
        typed_text: str = "per_frame",
        # A label's point is judged on the screen (within 3 px of the true one): 8 x 8 cells
        # a patch put a neighbouring cell 2 px away (the policy's 4 x 4: 4 px).
        click_subdivisions: int = 8,
        # Weight of the pointer objective: where the pointer is on every frame of the
        # window (one query token a frame, a patch and a cell each, from the recording's
        # mouse events). A click is one example a step of finding the pointer; this is
        # one a frame. 0 leaves the tokens and the objective out.
        pointer_weight: float = 0.5,
        history: int = 0,
        grounding_queries: int = 0,
        grounding_weight: float = 0.0,
        task_words: int = 0,
        spot_words: int = 0,
        **kwargs,
    ):
        if frames_before < 0 or frames_after < 0:
            raise ValueError("frames_before and frames_after must be >= 0")
        if text_slots < 1:
            raise ValueError(f"text_slots must be at least 1, got {text_slots}")
        if typed_text not in ("per_frame", "whole"):
            raise ValueError(f"typed_text must be per_frame or whole, got {typed_text!r}")
        unused = {"history": history, "grounding_queries": grounding_queries,
                  "grounding_weight": grounding_weight, "task_words": task_words,
                  "spot_words": spot_words}  # fmt: skip
        for name, value in unused.items():
            if value:
                raise ValueError(f"{name} must be 0 for an inverse dynamics model, got {value}")
        if pointer_weight < 0:
            raise ValueError(f"pointer_weight must be >= 0, got {pointer_weight}")
        self.pointer_weight = pointer_weight
        self.frames_before = frames_before
        self.frames_after = frames_after
        self.text_slots = text_slots
        self.typed_text = typed_text
        super().__init__(click_subdivisions=click_subdivisions, **unused, **kwargs)

    @property
    def num_frames(self) -> int:
        return self.frames_before + 1 + self.frames_after

    def vla_fields(self) -> dict:
        return {
            **super().vla_fields(),
            "frames_before": self.frames_before,
            "frames_after": self.frames_after,
            "text_slots": self.text_slots,
            "typed_text": self.typed_text,
            "pointer_weight": self.pointer_weight,
        }

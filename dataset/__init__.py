"""Episodes on disk: the Action schema, the episode format, segmentation, training samples."""

from .actions import Action, bin_to_pixel, pixel_to_bin
from .errors import ActionError, DatasetError, FrameIndexError, UserError

__all__ = [
    "Action",
    "ActionError",
    "DatasetError",
    "FrameIndexError",
    "UserError",
    "bin_to_pixel",
    "pixel_to_bin",
]

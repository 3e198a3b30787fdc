"""Mistakes a user of the model or the trainer can make, each reported in one line."""

from screenpilot.dataset.errors import UserError


class CheckpointError(UserError):
    """A checkpoint that is missing, damaged, or of another format version."""


class TrainConfigError(UserError):
    """A bad training flag, config file, device or data set."""

"""Errors a user can cause. The CLI turns each into one line and a non-zero exit code;
every package of screenpilot raises subclasses of ``UserError`` for such mistakes."""


class UserError(Exception):
    """A mistake in the user's input (a path, a flag, a file): reported in one line."""


class ActionError(UserError, ValueError):
    """An action that does not follow the schema."""


class DatasetError(UserError):
    """A dataset that is missing, damaged, or of an unknown format version."""


class FrameIndexError(DatasetError, IndexError):
    """A frame index outside an episode's video."""

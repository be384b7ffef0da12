"""The one exception every workflow raises when it cannot do what was asked."""


class ActionRefused(Exception):
    """An action that cannot be done as asked; the message says why, in the user's words."""

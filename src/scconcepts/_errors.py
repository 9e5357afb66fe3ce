"""Exceptions that signal a user mistake (bad input, bad option) rather than a bug."""


class ScconceptsError(Exception):
    """A problem with the user's input or options; the message says what to fix.

    The command line turns it into one line on stderr and exit code 2.
    """


class InputError(ScconceptsError, ValueError):
    """Input data that cannot be used as given (missing file, wrong format, non-count data...)."""


class OfflineError(ScconceptsError, ConnectionError):
    """A resource must be downloaded but the network cannot be reached."""

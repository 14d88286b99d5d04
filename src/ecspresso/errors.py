"""Errors the front ends turn into a one-line message and an exit code.

Anything raised by the engine that is not an :class:`EcspressoError` is a bug:
the CLI prints a traceback for it only with ``--debug``.
"""

from __future__ import annotations


class EcspressoError(Exception):
    """An error with a message meant for the user. Exit code 1."""

    exit_code = 1

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: what the command did before failing (ecspresso.report.Result), for outputs and summaries
        self.result: object | None = None
        #: short label for annotations (GitHub ``title=``); defaults to the class's
        self.title = title or self.default_title

    default_title = "ecspresso failed"

    def __str__(self) -> str:
        return self.message


class UsageError(EcspressoError):
    """Bad command-line flags or Action inputs. Exit code 2."""

    exit_code = 2
    default_title = "usage error"


class InputError(EcspressoError):
    """Bad input in a file: config, definition, template, Jsonnet, envfile.

    ``source`` is the file (or input) name and ``line`` the 1-based line when known; the message
    renders as ``source:line: message`` so the user can jump to it.
    """

    default_title = "invalid input"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.detail = message
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(f"{where}{message}", title=title)


class TemplateError(InputError):
    """A Go-template parse or execution error (unknown function, missing must_env variable…)."""

    default_title = "template error"


class AwsError(EcspressoError):
    """An AWS API call failed after botocore's retries.

    ``code`` is the AWS error code (``ThrottlingException``, ``AccessDeniedException``…, ``""``
    when there was no answer); ``transient`` says whether the same call may succeed later
    (throttling, 5xx, time-outs, connection errors): a *write* that failed that way may still have
    taken effect, and a *read* that failed that way is worth retrying later.
    """

    default_title = "AWS API error"

    def __init__(
        self, message: str, *, code: str = "", transient: bool = False, title: str | None = None
    ) -> None:
        super().__init__(message, title=title)
        self.code = code
        self.transient = transient


class DeployFailed(EcspressoError):
    """The deployment did not come up: circuit breaker, stopped tasks, time-out, interruption."""

    default_title = "deployment failed"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; raised in the main thread by the front end's signal handler.

    A BaseException, like KeyboardInterrupt, so that library code catching ``Exception`` (botocore's
    retry handling around a socket read) cannot swallow it and keep the process polling.
    """

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name

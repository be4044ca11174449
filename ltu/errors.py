"""Typed errors for problems a user can cause.

Every message is a sentence a person can act on; callers (CLI, app) show ``str(err)``
and never a stack trace.
"""

USER_ERROR = 2  # exit code of every command line when the user's input or setup is at fault


def hub_fetch_failed(name: str, what: str, reason: str = "offline, or no such repository") -> str:
    """The sentence for a model that is neither a local folder nor fetchable from the Hugging Face Hub."""
    return (f"The {what} '{name}' is not a local folder and could not be fetched from the Hugging Face Hub "
            f"({reason}). Download it where there is network access (`hf download {name} --local-dir DIR`) "
            "and pass DIR instead.")


class LTUError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class AudioError(LTUError):
    """The audio given cannot be used."""


class AudioDecodeError(AudioError):
    """The file is not audio, is corrupt or truncated, or uses an unsupported container."""


class EmptyAudioError(AudioError):
    """The file or recording holds no samples."""


class InvalidAudioError(AudioError):
    """The samples are unusable (NaN or infinite values)."""


class AudioTooLargeError(AudioError):
    """The file is larger than the configured byte limit."""


class AudioTooLongError(AudioError):
    """The clip is longer than the front end's ``max_seconds`` and the caller wants all of it heard."""


class ConfigError(LTUError):
    """A configuration value is unknown, missing or inconsistent."""


class AudioTokenCountError(LTUError, ValueError):
    """A prompt marks a different number of audio positions than its clip gives tokens."""


class CheckpointError(LTUError):
    """A checkpoint cannot be found, read, or does not match its config."""


class DeviceError(LTUError):
    """The machine cannot do what was asked (device, dtype or quantisation)."""

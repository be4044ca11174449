"""Typed errors for problems a user can cause.

Every message is a sentence a person can act on; callers (CLI, app) show ``str(err)``
and never a stack trace.
"""


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


class ConfigError(LTUError):
    """A configuration value is unknown, missing or inconsistent."""


class CheckpointError(LTUError):
    """A checkpoint cannot be found, read, or does not match its config."""


class DeviceError(LTUError):
    """The machine cannot do what was asked (device, dtype or quantisation)."""

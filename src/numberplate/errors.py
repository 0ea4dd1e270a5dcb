"""Exceptions raised by numberplate; each message names the input and what to do about it."""

from __future__ import annotations


class NumberplateError(Exception):
    """Base class of every error this package raises on purpose."""


class ImageError(NumberplateError):
    """An input could not be turned into an image."""


class ImageDecodeError(ImageError):
    """The bytes are not a decodable image (empty, truncated, corrupt or not an image at all)."""


class UnsupportedImageError(ImageError):
    """The input is of a type or format we do not read."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class ModelLoadError(NumberplateError):
    """A model file is missing, corrupt, or does not match its recorded checksum."""


class BackendUnavailableError(NumberplateError):
    """An optional backend (e.g. Tesseract) is not installed on this machine."""


class ConfigError(NumberplateError):
    """A configuration value, file or environment variable is invalid."""


class DatasetError(NumberplateError):
    """A labels file or annotation is malformed."""


class LookupError_(NumberplateError):
    """Base class of vehicle-lookup failures (named with a trailing underscore to avoid the builtin)."""


class LookupNotFound(LookupError_):
    """The provider has no vehicle with this plate."""


class LookupRateLimited(LookupError_):
    """The provider asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class LookupUnavailable(LookupError_):
    """The provider could not be reached, timed out, or answered with a server error."""


class LookupAuthError(LookupError_):
    """The provider rejected our credentials."""


class LookupBadPlate(LookupError_):
    """The provider rejected the plate as malformed."""


class StoreError(NumberplateError):
    """The database or the image store cannot be opened, migrated or written."""


class NotFoundError(NumberplateError):
    """A stored record (a read, a watchlist entry, a token) does not exist."""


class AuthError(NumberplateError):
    """A missing, unknown or revoked API token."""


class RateLimitedError(NumberplateError):
    """A client made more calls than its limit allows."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class VideoError(NumberplateError):
    """A video file, stream or camera cannot be opened or decoded."""

"""Kept while tests/service migrates: the dict platform now lives in affluent.testing.memory."""

from affluent.testing.memory import *  # noqa: F403
from affluent.testing.memory import DictFake, DictPlatform, DictPlatformWithFake, RecordingClient  # noqa: F401

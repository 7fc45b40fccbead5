"""The lab challenge tests load the shipped questions, which need the shipped lessons."""

from tests.practice.conftest import lessons

__all__ = ["lessons"]

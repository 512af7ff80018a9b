"""Wheels as files: RECORD and hashing, member layout, reading, validating and writing."""

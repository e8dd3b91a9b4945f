"""affluent adapter for any JSON platform, described by a mapping file."""

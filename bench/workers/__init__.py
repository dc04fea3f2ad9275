"""Child processes the cases start: they talk to the parent through files and one JSON line."""

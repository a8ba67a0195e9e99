"""Pure rules of labelyard (no I/O); see README.md."""

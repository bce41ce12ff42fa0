"""fenji."""

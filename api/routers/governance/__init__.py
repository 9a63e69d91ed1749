"""The rules everyone reads: the schemes and their terms, and the council's proposals."""

"""Rule families; importing this package registers every rule in ``tally.registry``."""

from tally.rules import borda, equalshares, greedy, maxwelfare, phragmen  # noqa: F401

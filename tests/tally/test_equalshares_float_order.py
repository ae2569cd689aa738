"""MES engine: classes ordered by the floats of their money bounds must split poor from rich
exactly as the exact order does, also when distinct bounds round to the same float."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.model import Ballot, Election, Project
from tally.rules import equalshares as es
from tally.tiebreak import TieBreak

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _engine() -> es._Engine:
    e = Election(
        budget=10,
        projects=(Project(id="a", cost=5),),
        ballots=(Ballot(projects=("a",), weight=2),),
    )
    prof = es.compile_profile(e, TieBreak(), "cost")
    return es._Engine(prof, 5, track=False, details=False, probe=None)


# bounds near 2^80, where floats are 2^28 apart: small offsets collide, large ones do not
_bound = st.tuples(st.integers(0, 6), st.integers(0, 3)).map(
    lambda t: (1 << 80) + t[0] * (1 << 40) + t[1] * (1 << 20)
)


@SETTINGS
@given(
    bounds=st.lists(_bound, min_size=1, max_size=12),
    data=st.data(),
)
def test_float_order_splits_like_the_exact_order(bounds, data):
    engine = _engine()
    engine.cl = list(bounds)
    engine.cf = [float(x) for x in bounds]
    h = {c: data.draw(st.integers(1, 5)) for c in data.draw(st.permutations(range(len(bounds))))}
    W = sum(h.values())
    # a cost whose price falls among the bounds (where the order of near-equal bounds matters)
    x = data.draw(st.sampled_from(bounds))
    C = sum(min(engine.cl[c], x) * w for c, w in h.items()) + data.draw(
        st.integers(-(1 << 22), 1 << 22)
    )
    order, P, R, j = engine._split_uniform(h, C, W)
    exact = sorted(h, key=engine.cl.__getitem__)
    P0, R0, j0 = es._split(exact, h, engine.cl, C, 0, W)
    assert (P, R, j) == (P0, R0, j0)
    assert set(order[:j]) == set(exact[:j0])
    assert sorted(order) == sorted(h)


def test_a_float_tie_at_the_split_falls_back_to_the_exact_order():
    # classes 0 and 1 differ by 1 at 2^80 (same float): sorted by float, 0 stays before 1 and
    # the walk would stop at once; exactly, 1 is poor and 0 is the first rich class
    engine = _engine()
    big = 1 << 80
    engine.cl = [big + 1, big, big + (1 << 40)]
    engine.cf = [float(x) for x in engine.cl]
    assert engine.cf[0] == engine.cf[1]
    h = {0: 1, 1: 1, 2: 1}
    C = big + 2 * (big + 1)
    assert es._split(sorted(h, key=engine.cf.__getitem__), h, engine.cl, C, 0, 3)[2] == 0
    order, P, R, j = engine._split_uniform(h, C, 3)
    assert (P, R, j) == (big, 2, 1)
    assert order[:1] == [1]

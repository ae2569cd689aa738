"""The canonical input: the digest depends on the ballots counted, never on their order."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tally
from results.canonical import election_from_json, election_json, input_sha256, normalize
from tally.model import Ballot, VoteType
from tests.tally.strategies import elections

VOTE_TYPES = st.sampled_from(list(VoteType))


def _expand(e: tally.Election) -> list[Ballot]:
    return [replace(b, weight=1) for b in e.ballots for _ in range(b.weight)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_digest_ignores_order_and_weights(data: st.DataObject, vote_type: VoteType) -> None:
    e = data.draw(elections(vote_type=vote_type))
    singles = _expand(e)
    shuffled = data.draw(st.permutations(singles))
    if vote_type in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
        # the order of projects inside an approval ballot carries no meaning either
        shuffled = [replace(b, projects=tuple(reversed(b.projects))) for b in shuffled]
    other = replace(e, ballots=tuple(shuffled))
    assert input_sha256(other) == input_sha256(e)
    assert normalize(other) == normalize(e)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_json_round_trip_and_same_outcome(data: st.DataObject, vote_type: VoteType) -> None:
    e = data.draw(elections(vote_type=vote_type, fractional_budget=True))
    back = election_from_json(election_json(e))
    assert back == normalize(e)
    rule = "borda-greedy" if vote_type is VoteType.ORDINAL else "greedy"
    assert tally.run(rule, back, "").selected == tally.run(rule, e, "").selected


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_one_more_ballot_changes_the_digest(data: st.DataObject) -> None:
    e = data.draw(elections())
    extra = replace(e, ballots=(*e.ballots, Ballot((e.projects[0].id,))))
    assert input_sha256(extra) != input_sha256(e)


def test_ordinal_rankings_keep_their_order() -> None:
    projects = (tally.Project("a", 1), tally.Project("b", 1))
    ab = tally.Election(
        budget=2, projects=projects, ballots=(Ballot(("a", "b")),), vote_type=VoteType.ORDINAL
    )
    ba = replace(ab, ballots=(Ballot(("b", "a")),))
    assert input_sha256(ab) != input_sha256(ba)

"""Clusters on a real database: who is in one (same product, similar text, open), what it
adds up to, Merge all's guarantees, and precision and recall on a fixed labelled set."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.cluster_set import NEEDS, labelled
from bench.clusters import Counts, draft_of
from bot import clusters
from bot.clusters import Cluster, MergedAll, cluster_line, merge_all_value, parse_merge_all
from bot.feedback import NOT_A_PM, Action, FeedbackService
from bot.items import Candidate, Draft, Status
from bot.types import Refused
from tests.bot import test_feedback
from tests.bot.test_feedback import PM, SALES
from tests.cluster_items import LINE, make_cluster

svc = test_feedback.svc  # the feedback service on the demo catalog, PMs U0PM1 and U0PM2


async def test_a_cluster_is_open_items_of_one_product_with_similar_text(
    svc: FeedbackService,
) -> None:
    a, b, c, other = await make_cluster(svc)
    got = await svc.cluster_of(a)
    assert got is not None
    assert [i.id for i in got.others] == [b.id, c.id]  # not the other product's item
    assert cluster_line(got) == LINE
    assert got.revenue == {"USD": 610_000}
    assert [p.id for p in got.reps] == ["U0SALES1", "U0SALES2", "U0SALES3"]
    assert await svc.cluster_of(other) is None  # alone on its product
    view = await svc.triage_view(a)
    assert view.cluster == got
    # A closed item leaves the cluster, and a closed item's card has none.
    await svc.decide(user=PM, item_id=c.id, action=Action.DECLINE, note="Not now")
    again = await svc.cluster_of(a)
    assert again is not None and [i.id for i in again.others] == [b.id]
    closed = await svc.get(c.id)
    assert closed is not None and await svc.cluster_of(closed) is None


async def test_feedback_that_is_not_product_specific_clusters_only_with_its_like(
    svc: FeedbackService,
) -> None:
    a, *_ = await make_cluster(svc)
    draft = await svc.validate(
        {"product": "-", "kind": "feature_request", "client": "Hooli", "details": a.details}
    )
    assert isinstance(draft, Draft), draft
    loose = (await svc.create(user=SALES, draft=draft)).item
    assert await svc.cluster_of(loose) is None  # the same words on Widget Pro items


async def test_an_item_closed_while_its_cluster_is_read_is_left_out(
    svc: FeedbackService, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c, _ = await make_cluster(svc)
    found = await svc._repo.similar_candidates(tokens=["saml"], product_sku="WDG-PRO", exclude=a.id)

    async def then_closed(**_kw: object) -> list[Candidate]:
        await svc.decide(user=PM, item_id=c.id, action=Action.DECLINE, note="Not now")
        return found

    monkeypatch.setattr(svc._repo, "similar_candidates", then_closed)
    got = await svc.cluster_of(a)
    assert got is not None and [i.id for i in got.others] == [b.id]


async def test_a_client_two_items_name_counts_once_at_its_largest_deal(
    svc: FeedbackService,
) -> None:
    a, b, c, _ = await make_cluster(svc)
    cluster = Cluster(a, (replace(b, client="acme corp "), c))  # Acme again, at $270,000
    assert cluster.revenue == {"USD": 360_000}
    assert "$360,000 at stake" in cluster_line(cluster)


async def test_merge_all_merges_the_cluster_and_reports_what_it_skipped(
    svc: FeedbackService,
) -> None:
    a, b, c, other = await make_cluster(svc)
    cluster = await svc.cluster_of(a)
    assert cluster is not None
    target, ids = parse_merge_all(merge_all_value(cluster)) or (0, ())
    assert (target, ids) == (a.id, (b.id, c.id))
    # Someone who may not decide changes nothing.
    refused = await svc.merge_all(user=SALES, target_id=a.id, item_ids=ids)
    assert isinstance(refused, Refused) and refused.message == NOT_A_PM
    # Between the card and the press, #3 is declined; a forged id of another product rides along.
    await svc.decide(user=PM, item_id=c.id, action=Action.DECLINE, note="Not now")
    done = await svc.merge_all(user=PM, target_id=a.id, item_ids=(*ids, other.id))
    assert isinstance(done, MergedAll)
    assert done.merged == (b.id,)
    assert done.skipped == (clusters.not_in_cluster(c.id), clusters.not_in_cluster(other.id))
    assert done.text == (
        "Merged #2 into #1. Skipped: #3 is no longer an open item like this one. "
        "Skipped: #4 is no longer an open item like this one."
    )
    merged = await svc.get(a.id)
    assert merged is not None and merged.revenue == {"USD": 520_000}  # Acme's and Globex's
    assert [(s.client, s.via) for s in merged.supporters] == [("Globex", b.id)]
    for gone, status in ((b.id, Status.MERGED), (c.id, Status.DECLINED), (other.id, Status.NEW)):
        now = await svc.get(gone)
        assert now is not None and now.status is status
    # The same press again merges nothing.
    twice = await svc.merge_all(user=PM, target_id=a.id, item_ids=ids)
    assert isinstance(twice, MergedAll) and twice.merged == ()
    assert twice.text.startswith("Nothing was merged into #1.")
    still = await svc.get(a.id)
    assert still == merged


async def test_merge_all_into_an_item_no_longer_open_merges_nothing(svc: FeedbackService) -> None:
    a, b, c, _ = await make_cluster(svc)
    await svc.decide(user=PM, item_id=a.id, action=Action.DECLINE, note="Not now")
    refused = await svc.merge_all(user=PM, target_id=a.id, item_ids=(b.id, c.id))
    assert isinstance(refused, Refused)
    for i in (b.id, c.id):
        now = await svc.get(i)
        assert now is not None and now.status is Status.NEW


@pytest.mark.parametrize(
    "raw", ["", "1", "1:", "x:2", "1:2,y", "1:" + ",".join(str(i) for i in range(2, 14)), "1:²"]
)
def test_a_press_value_that_is_no_cluster_is_stale(raw: str) -> None:
    assert parse_merge_all(raw) is None


def test_precision_and_recall_on_a_fixed_labelled_set() -> None:
    """A floor under bench/clusters.py's figures, on a smaller set (2-4 items a need): the
    decision a card's cluster makes, over ordered pairs of one product."""
    items = labelled(per_need=(2, 4), seed=5)
    assert len(items) >= 90 and len({x.need for x in items}) == len(NEEDS)
    drafts = [draft_of(x) for x in items]
    pool = [Candidate(k, f"{d.title} {d.details}", d.product_sku) for k, d in enumerate(drafts)]
    decisions = []
    for anchor in pool:
        shown = {i for i, _ in clusters.members(anchor, pool)}
        decisions += [
            (other.id in shown, items[other.id].need == items[anchor.id].need)
            for other in pool
            if other.id != anchor.id and other.product_sku == anchor.product_sku
        ]
    got = Counts.of(decisions)
    assert got.precision >= 0.8, got
    assert got.recall >= 0.3, got

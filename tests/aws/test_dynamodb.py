"""The notification state gateway against moto's DynamoDB: conditional claims, versions,
expiry on the item, bulk reads of more than 100 keys, unprocessed keys, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from dateutil.relativedelta import relativedelta

from ecrscan.aws.dynamodb import MALFORMED, TTL_ATTRIBUTE, StateStore, item_of
from ecrscan.aws.errors import AwsError, ErrorKind, classify
from ecrscan.core.notify import Fingerprint, Record, claimed, state_key
from tests.support.fakes import FakeTime, fake_throttle
from tests.support.state_table import REGION, TABLE, create_state_table, items

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
MONTH = relativedelta(months=1)
BREACH = Fingerprint("breach", (("HIGH", 2),))


def key(n: int) -> str:
    return state_key("123456789012", REGION, f"team/app-{n:03}", f"sha256:{n:064x}")


def first_claim(n: int = 1, fp: Fingerprint = BREACH) -> Record:
    return claimed(None, key(n), fp, NOW, MONTH, f"team/app-{n:03}:v1")


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def store(mocked: None, fake: FakeTime) -> StateStore:
    create_state_table()
    session = boto3.Session(region_name=REGION)
    return StateStore(session, TABLE, throttle=fake_throttle(fake))


def test_a_claim_is_read_back_whole(store: StateStore) -> None:
    assert store.read(key(1)) is None
    record = first_claim()
    store.put(record, None)
    assert store.read(key(1)) == record
    raw = items()[key(1)]
    assert raw[TTL_ATTRIBUTE] == {"N": str(int((NOW + MONTH).timestamp()))}  # the TTL
    assert raw["version"] == {"N": "1"} and raw["fingerprint"] == {"S": "breach;HIGH=2"}
    assert raw["image"] == {"S": "team/app-001:v1"}


def test_claims_are_conditional_on_the_version_read(store: StateStore) -> None:
    first = first_claim()
    store.put(first, None)
    with pytest.raises(AwsError) as lost:
        store.put(first, None)  # somebody claimed it first
    assert lost.value.kind is ErrorKind.CONDITION_FAILED
    assert lost.value.problem.code == "ConditionalCheckFailedException"
    second = claimed(first, key(1), Fingerprint("breach", (("HIGH", 3),)), NOW, MONTH)
    store.put(second, 1)
    assert store.read(key(1)) == second
    with pytest.raises(AwsError) as stale:
        store.put(claimed(first, key(1), BREACH, NOW, MONTH), 1)  # read v1, but v2 is there
    assert stale.value.kind is ErrorKind.CONDITION_FAILED
    with pytest.raises(AwsError) as stale_delete:
        store.delete(key(1), 1)
    assert stale_delete.value.kind is ErrorKind.CONDITION_FAILED
    store.delete(key(1), 2)
    assert store.read(key(1)) is None
    with pytest.raises(AwsError) as gone:
        store.delete(key(1), 2)
    assert gone.value.kind is ErrorKind.CONDITION_FAILED
    assert store.calls["put_item"] == 4 and store.calls["delete_item"] == 3


def test_an_expired_item_is_still_read_until_dynamodb_deletes_it(store: StateStore) -> None:
    old = claimed(None, key(1), BREACH, datetime(2025, 1, 1, tzinfo=UTC), MONTH)
    store.put(old, None)
    found = store.read(key(1))
    assert found == old and not found.live(NOW)  # the caller checks the expiry


def test_read_many_reads_more_than_100_keys_in_batches(store: StateStore) -> None:
    for n in range(230):
        store.put(first_claim(n), None)
    wanted = [key(n) for n in range(250)] + [key(3), key(7)]  # 20 missing, 2 repeated
    found = store.read_many(wanted)
    assert set(found) == {key(n) for n in range(230)}
    assert found[key(42)] == first_claim(42)
    assert store.calls["batch_get_item"] == 3  # 100 + 100 + 50 distinct keys


class Unprocessed:
    """A DynamoDB client whose BatchGetItem leaves the last ``held`` keys unprocessed,
    ``rounds`` times."""

    def __init__(self, client: Any, held: int, rounds: int) -> None:
        self.client, self.held, self.rounds = client, held, rounds
        self.asked: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, request), *_ = RequestItems.items()
        keys = request["Keys"]
        self.asked.append(len(keys))
        if self.rounds <= 0:
            return self.client.batch_get_item(RequestItems=RequestItems)
        self.rounds -= 1
        served, held = keys[: -self.held], keys[-self.held :]
        response: dict[str, Any] = {"Responses": {table: []}}
        if served:
            response = self.client.batch_get_item(RequestItems={table: {**request, "Keys": served}})
        response["UnprocessedKeys"] = {table: {**request, "Keys": held}}
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_unprocessed_keys_are_asked_again_with_backoff(store: StateStore, fake: FakeTime) -> None:
    for n in range(120):
        store.put(first_claim(n), None)
    flaky = Unprocessed(store._read, held=30, rounds=2)
    store._read = flaky
    found = store.read_many([key(n) for n in range(120)])
    assert set(found) == {key(n) for n in range(120)}
    assert flaky.asked == [100, 30, 30, 20]
    assert len(fake.sleeps) >= 2  # backed off after each round left unprocessed


def test_keys_left_unprocessed_for_good_are_an_error(store: StateStore) -> None:
    store.put(first_claim(1), None)
    store._read = Unprocessed(store._read, held=1, rounds=99)
    with pytest.raises(AwsError) as failed:
        store.read_many([key(1), key(2)])
    assert failed.value.kind is ErrorKind.THROTTLED
    assert failed.value.problem.code == "UnprocessedKeys"


def test_a_missing_table_is_an_aws_error(mocked: None, fake: FakeTime) -> None:
    store = StateStore(boto3.Session(region_name=REGION), "nope", throttle=fake_throttle(fake))
    for call in (
        lambda: store.read(key(1)),
        lambda: store.read_many([key(1)]),
        lambda: store.put(first_claim(), None),
        lambda: store.delete(key(1), 1),
    ):
        with pytest.raises(AwsError) as missing:
            call()
        assert missing.value.kind is ErrorKind.OTHER
        assert missing.value.problem.code == "ResourceNotFoundException"


def test_an_item_this_version_cannot_read_is_an_error(store: StateStore) -> None:
    item = item_of(first_claim())
    item["fingerprint"] = {"S": "breach;HIGH=lots"}
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=TABLE, Item=item)
    with pytest.raises(AwsError) as bad:
        store.read(key(1))
    assert bad.value.problem.code == MALFORMED and key(1) in bad.value.problem.message


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ConditionalCheckFailedException", ErrorKind.CONDITION_FAILED),
        ("ProvisionedThroughputExceededException", ErrorKind.THROTTLED),
        ("ThrottlingException", ErrorKind.THROTTLED),
        ("ResourceNotFoundException", ErrorKind.OTHER),
        ("AccessDeniedException", ErrorKind.ACCESS_DENIED),
    ],
)
def test_dynamodb_errors_are_classified(code: str, kind: ErrorKind) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")
    assert classify(error) is kind


# -- the scan-date cache's batch writes (aws/scandates.py) ---------------------------------


class UnprocessedWrites:
    """A DynamoDB client whose BatchWriteItem leaves the last ``held`` items unwritten,
    ``rounds`` times."""

    def __init__(self, client: Any, held: int, rounds: int) -> None:
        self.client, self.held, self.rounds = client, held, rounds
        self.asked: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, writes), *_ = RequestItems.items()
        self.asked.append(len(writes))
        if self.rounds <= 0:
            return self.client.batch_write_item(RequestItems=RequestItems)
        self.rounds -= 1
        if writes[: -self.held]:
            self.client.batch_write_item(RequestItems={table: writes[: -self.held]})
        return {"UnprocessedItems": {table: writes[-self.held :]}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def scan_date_items(count: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": f"scan-date/aws/x/{n}"}, "completedAt": {"S": "t"}} for n in range(count)]


def test_put_many_writes_25_a_call_and_sends_unprocessed_items_again(
    store: StateStore, fake: FakeTime
) -> None:
    flaky = UnprocessedWrites(store._read, held=5, rounds=1)
    store._read = flaky
    store.put_many(scan_date_items(30))
    assert set(items()) == {f"scan-date/aws/x/{n}" for n in range(30)}
    assert flaky.asked == [25, 5, 5]  # 25, its 5 unprocessed again, then the last 5
    assert fake.sleeps  # backed off before sending the unprocessed items again
    assert {i["pk"]["S"] for i in store.items([f"scan-date/aws/x/{n}" for n in (1, 29, 99)])} == {
        "scan-date/aws/x/1",
        "scan-date/aws/x/29",
    }


def test_items_left_unwritten_for_good_are_an_error(store: StateStore) -> None:
    store._read = UnprocessedWrites(store._read, held=1, rounds=99)
    with pytest.raises(AwsError) as failed:
        store.put_many(scan_date_items(3))
    assert failed.value.kind is ErrorKind.THROTTLED
    assert failed.value.operation == "batch_write_item"

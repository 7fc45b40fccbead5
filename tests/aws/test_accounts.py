"""Each learner is a separate AWS account in the lab's moto server (sandbox/aws)."""

import pytest
from django.test import override_settings

from sandbox.aws.accounts import MOTO_DEFAULT_ACCOUNT, account_for
from sandbox.aws.clients import LabServicesUnavailable, lab_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_learner_keeps_one_account_and_two_learners_get_two() -> None:
    alice, bob = UserFactory(), UserFactory()
    first = account_for(alice)
    assert account_for(alice) == first
    assert account_for(bob) != first
    for account in (first, account_for(bob)):
        assert len(account) == 12 and account.isdigit() and account != MOTO_DEFAULT_ACCOUNT


def test_one_learner_never_sees_anothers_buckets_or_queues(moto_server: str) -> None:
    with override_settings(LAB_SERVICES_URL=moto_server):
        alice, bob = account_for(UserFactory()), account_for(UserFactory())
        lab_client("s3", account_id=alice).create_bucket(Bucket=f"photos-{alice}")
        lab_client("sqs", account_id=alice).create_queue(QueueName="jobs")
        bob_s3 = lab_client("s3", account_id=bob)
        assert [b["Name"] for b in bob_s3.list_buckets()["Buckets"]] == []
        assert lab_client("sqs", account_id=bob).list_queues().get("QueueUrls", []) == []
        alice_buckets = lab_client("s3", account_id=alice).list_buckets()["Buckets"]
        assert [b["Name"] for b in alice_buckets] == [f"photos-{alice}"]


@override_settings(LAB_SERVICES_URL="")
def test_without_the_services_a_client_says_so() -> None:
    with pytest.raises(LabServicesUnavailable, match="not running"):
        lab_client("s3", account_id="111122223333")

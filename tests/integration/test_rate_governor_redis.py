"""The rate governor's suite against the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support import infra
from tests.support.rate_suite import RateGovernorSuite
from tests.support.rate_suite_headers import HeaderLearningSuite

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    infra.require_services()
    client = redis.Redis(host=infra.REDIS_HOST, port=infra.REDIS_PORT)
    yield client
    client.close()


class TestOnRedis(RateGovernorSuite):
    pass


class TestHeaderLearningOnRedis(HeaderLearningSuite):
    pass

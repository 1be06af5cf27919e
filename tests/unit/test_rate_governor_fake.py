"""The rate governor's suite against fakeredis (its Lua scripts run on lupa)."""

from __future__ import annotations

import importlib.util

import fakeredis
import pytest
import redis

from tests.support.rate_suite import RateGovernorSuite
from tests.support.rate_suite_headers import HeaderLearningSuite

pytestmark = pytest.mark.unit


@pytest.fixture
def redis_client() -> redis.Redis:
    if importlib.util.find_spec("lupa") is None:
        raise RuntimeError(
            "fakeredis runs Lua scripts only with lupa: pip install 'fakeredis[lua]'"
        )
    return fakeredis.FakeRedis()


class TestOnFakeRedis(RateGovernorSuite):
    pass


class TestHeaderLearningOnFakeRedis(HeaderLearningSuite):
    pass

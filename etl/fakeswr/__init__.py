"""The local SWR API: a faithful stand-in for SWR's v3 tag list, IAM tokens and AK/SK."""

from etl.fakeswr.app import make_app
from etl.fakeswr.days import next_day, next_hour, repush_everything
from etl.fakeswr.faults import FAULT_KINDS, FaultPlan
from etl.fakeswr.registry import Registry, Tag, generate_registry
from etl.fakeswr.server import (
    AppThread,
    FakeSwr,
    RunningApp,
    ServerThread,
    start,
    start_app,
    stop,
    stop_app,
)
from etl.fakeswr.state import Credentials, Options

__all__ = [
    "AppThread",
    "RunningApp",
    "start_app",
    "stop_app",
    "FAULT_KINDS",
    "Credentials",
    "FakeSwr",
    "FaultPlan",
    "Options",
    "Registry",
    "ServerThread",
    "Tag",
    "generate_registry",
    "make_app",
    "next_day",
    "next_hour",
    "repush_everything",
    "start",
    "stop",
]

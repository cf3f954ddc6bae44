"""A strict recording double of jetson-stats' ``jtop.jtop`` client, derived from the installed real class.

Protocol tests only (no Jetson, no jtop.service here): the double exposes exactly the real class's public
names, binds constructor arguments against the real ``jtop.__init__`` signature, keeps the real kinds
(``interval``, ``interval_user`` and ``power`` are properties, ``start``/``close`` methods), and raises
the real ``JtopException``. A name edge uses that the real class lacks fails with AttributeError, as it
would on a Jetson. Behaviour modelled on jetson_stats 7.2.0 jtop/jtop.py: ``start()`` raises
JtopException("The jtop.service is not active...") when the service is down; the service keeps the
interval of its first client and ``interval`` returns the service's value (``_server_interval``), while
``interval_user`` returns what this client asked for.
"""

from __future__ import annotations

import inspect

import pytest

jtop_module = pytest.importorskip("jtop", reason="jetson-stats is not installed (pip install 'edge[test]')")
REAL = jtop_module.jtop
JtopException = jtop_module.JtopException
PUBLIC = {n for n in dir(REAL) if not n.startswith("_")}


class Service:
    """The jtop.service side: its interval is fixed by the first client that connected."""

    def __init__(self, interval: float | None = None, error: str | None = None, power: dict | None = None):
        self.interval, self.error, self.power = interval, error, power or {}
        self.clients: list = []


def make_jtop(service: Service):
    """A class standing in for ``jtop.jtop`` that talks to ``service``."""

    class JtopDouble:
        def __init__(self, *args, **kwargs):
            bound = inspect.signature(REAL.__init__).bind(self, *args, **kwargs)
            bound.apply_defaults()
            self._user, self._server, self._closed = float(bound.arguments["interval"]), None, False
            service.clients.append(self)

        def __getattribute__(self, name):
            if not name.startswith("_") and name not in PUBLIC:
                raise AttributeError(f"'jtop' object has no attribute '{name}'")
            return object.__getattribute__(self, name)

        def start(self):
            if service.error:
                raise JtopException(service.error)
            if service.interval is None:
                service.interval = self._user
            self._server = service.interval

        @property
        def interval(self):
            return self._server

        @property
        def interval_user(self):
            return self._user

        @property
        def power(self):
            return service.power

        def close(self):
            self._closed = True

    for name, attr in vars(JtopDouble).items():
        if not name.startswith("_"):
            real = inspect.getattr_static(REAL, name)
            assert name in PUBLIC and isinstance(attr, property) == isinstance(real, property), name
    return JtopDouble

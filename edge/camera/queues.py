"""A bounded frame queue with the pipeline's frame-dropping policy.

Policies (``policy=``):

- ``"block"``: a full queue makes the producer wait (checking the stop event every 50 ms). Nothing is
  dropped; the source is paced by the slowest stage. The default for files and image directories, whose
  frames can wait.
- ``"drop-oldest"``: a full queue discards its oldest frame to make room for the new one, so the
  consumer always gets the freshest frames and latency stays bounded by the queue size. The default for
  live sources (cameras, RTSP), which cannot be paused: a slow model then processes a subset of the
  frames, and every discarded frame is counted in ``dropped``.

The end-of-stream marker is never dropped and never displaces a frame.
"""

from __future__ import annotations

import collections
import threading

POLICIES = ("block", "drop-oldest")
EOS = object()  # end-of-stream marker passed down the queues


class Closed(Exception):
    """The stop event was set while waiting."""


class FrameQueue:
    """Bounded FIFO between two pipeline threads.

    Args:
        maxsize: capacity (>= 1).
        policy: "block" | "drop-oldest" (see the module docstring).
        stop: event that aborts any wait (raises Closed).
    """

    def __init__(self, maxsize: int, policy: str, stop: threading.Event):
        if maxsize < 1 or policy not in POLICIES:
            raise ValueError(f"FrameQueue needs maxsize >= 1 and policy in {POLICIES}")
        self.maxsize, self.policy, self.stop = maxsize, policy, stop
        self.items: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.dropped = 0
        self.high_water = 0

    def put(self, item) -> None:
        with self.cond:
            if item is EOS:
                self.items.append(item)  # may exceed maxsize by one: the marker must always get through
            else:
                while len(self.items) >= self.maxsize:
                    if self.policy == "drop-oldest" and self.items[0] is not EOS:
                        self.items.popleft()
                        self.dropped += 1
                        break
                    if self.stop.is_set():
                        raise Closed
                    self.cond.wait(0.05)
                self.items.append(item)
            self.high_water = max(self.high_water, len(self.items))
            self.cond.notify_all()

    def get(self):
        """The next item (possibly EOS); raises Closed when the stop event is set while empty."""
        with self.cond:
            while not self.items:
                if self.stop.is_set():
                    raise Closed
                self.cond.wait(0.05)
            item = self.items.popleft()
            self.cond.notify_all()
            return item

    def __len__(self) -> int:
        return len(self.items)


__all__ = ["EOS", "POLICIES", "Closed", "FrameQueue"]

"""Lease bookkeeping as a state machine (hypothesis, on moto): whatever order leases are taken, given
back, abandoned by a dying holder and outlived, the counter equals the leases on the item, never
passes the cap, and a lease is refused exactly when ``cap`` unexpired leases are held."""

from __future__ import annotations

import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from tests.health_rig import HealthRig, rig_fixture  # noqa: F401 (the rig fixture)

from modelrouter.execution.limiter import SlotUnavailableError
from modelrouter.health.items import epoch_ms
from modelrouter.health.leases import Lease


def test_lease_bookkeeping_holds_in_any_order(rig: HealthRig) -> None:
    class Leases(RuleBasedStateMachine):
        """Two containers taking leases of one model (a new model per example)."""

        held = Bundle("held")

        def __init__(self) -> None:
            super().__init__()
            self.model = f"m-{uuid.uuid4().hex[:8]}"
            self.containers = [rig.container(), rig.container()]
            self.cap = 1
            self.out: dict[str, Lease] = {}
            """Leases taken and not given back (their holders may have died), by attribute."""

        @initialize(cap=st.integers(min_value=1, max_value=4))
        def set_cap(self, cap: int) -> None:
            self.cap = cap

        def unexpired(self) -> int:
            now = epoch_ms(rig.clock.now())
            return sum(1 for lease in self.out.values() if lease.until_ms > now)

        @rule(target=held, container=st.integers(0, 1), hold_s=st.sampled_from([0.0, 5.0, 30.0]))
        def take(self, container: int, hold_s: float) -> Lease | None:
            expect = self.unexpired() < self.cap
            try:
                lease = self.containers[container].leases.acquire(self.model, self.cap, hold_s)
            except SlotUnavailableError:
                assert not expect
                self._forget_reclaimed()
                return None
            assert expect
            self.out[lease.attribute] = lease
            self._forget_reclaimed()
            return lease

        @rule(lease=consumes(held), container=st.integers(0, 1))
        def give_back(self, lease: Lease | None, container: int) -> None:
            if lease is not None:
                self.containers[container].leases.release(lease)
                self.out.pop(lease.attribute, None)

        @rule(lease=consumes(held))
        def holder_dies(self, lease: Lease | None) -> None:
            """The holder's process is gone: its lease stays until it expires (it is still in ``out``)."""

        @rule(seconds=st.sampled_from([1.0, 10.0, 30.0]))
        def time_passes(self, seconds: float) -> None:
            rig.clock.advance(seconds)

        def _forget_reclaimed(self) -> None:
            present = self.containers[0].leases.count(self.model).leases
            self.out = {name: lease for name, lease in self.out.items() if name in present}

        @invariant()
        def counter_matches_the_leases(self) -> None:
            count = self.containers[0].leases.count(self.model)
            assert count.held == len(count.leases) <= self.cap
            assert set(count.leases) == set(self.out)

    run_state_machine_as_test(
        Leases, settings=settings(max_examples=40, stateful_step_count=25, deadline=None)
    )

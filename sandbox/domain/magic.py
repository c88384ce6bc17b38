"""Magic accounts: an account whose scenario entry names a catalog code answers that code at
its step, with no rule and no setup (Plaid's ``error_<CODE>`` users, Stripe's decline cards).
"""

from __future__ import annotations

from sandbox.steps import Step

# What a magic account may trigger, and the step where it is served: the documented errors
# of tables 3/4 and 4/4 on ②「次へ」, the 120 s window on ④「確定する」, the PIN lock on ⑤.
TRIGGER_STEPS: dict[str, Step] = {
    "wrong_account": Step.IDENTITY,
    "wrong_identity": Step.IDENTITY,
    "locked_now": Step.IDENTITY,
    "locked": Step.IDENTITY,
    "off_hours": Step.IDENTITY,
    "congestion": Step.IDENTITY,
    "system_error": Step.IDENTITY,
    "service_unavailable": Step.IDENTITY,
    "phone_window_expired": Step.CONFIRM,
    "pin_locked_now": Step.PIN,
}


def triggered(triggers: str | None, step: Step) -> str | None:
    """The catalog code a magic account answers at ``step``, if any."""
    if triggers is not None and TRIGGER_STEPS.get(triggers) == step:
        return triggers
    return None

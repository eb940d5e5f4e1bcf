from celery import shared_task

from . import services


@shared_task(acks_late=True)
def claims_escalate_overdue() -> int:
    """Periodic: open pledge claims unanswered for 3 days go to the moderators' queue."""
    return services.claims_escalate_overdue()


@shared_task(acks_late=True)
def residency_letters_expire() -> int:
    """Periodic: expired letters are closed and their postal addresses erased."""
    return services.residency_letters_expire_due()


@shared_task(acks_late=True)
def reputations_recompute() -> int:
    """Daily: the repeat-customer rate looks back 90 days, so scores move with time alone."""
    return services.reputations_recompute_all()

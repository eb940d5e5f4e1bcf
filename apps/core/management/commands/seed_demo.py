import random

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts import demo as accounts_demo
from apps.accounts.models import Resident
from apps.chat import demo as chat_demo
from apps.market import demo as market_demo
from apps.moderation import demo as moderation_demo
from apps.shops import demo as shops_demo
from apps.trust import demo as trust_demo


class Command(BaseCommand):
    help = "Builds the demo neighbourhood around Jing'an Temple, Shanghai (deterministic for a seed)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when residents already exist")

    def handle(self, *args, seed, if_empty, **options):
        if Resident.objects.exists():
            if if_empty:
                self.stdout.write("The database already has residents; the demo is not loaded again.")
                self._print_accounts()
                return
            self.stderr.write("The database is not empty; seed_demo adds the demo only to an empty one.")
            raise SystemExit(1)
        rng = random.Random(seed)
        with transaction.atomic():
            accounts = accounts_demo.seed(rng)
            moderation_demo.seed_moderators(accounts)
            shops = shops_demo.seed(rng, accounts)
            stalls = market_demo.seed(rng, accounts, shops)
            chat_demo.seed(rng, accounts)
            trust_demo.seed(rng, accounts, shops)
            moderation_demo.seed_reports(rng, accounts, stalls)
        self.stdout.write(self.style.SUCCESS("Demo neighbourhood loaded."))
        self._print_accounts()

    def _print_accounts(self):
        self.stdout.write(f"Demo accounts (password for all: {accounts_demo.DEMO_PASSWORD}):")
        for username, name, _language, role in accounts_demo.DEMO_ACCOUNTS:
            self.stdout.write(f"  {role:<11} username: {username:<11} ({name})")
        self.stdout.write("  Moderators work in the admin: /admin/")

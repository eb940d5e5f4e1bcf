"""Demo residents of Jing'an, Shanghai, made through the real services."""

from __future__ import annotations

import math
import random

from django.contrib.auth.models import Group, Permission

from apps.nearby import geo

from . import services
from .models import Resident

# Jing'an Temple, the middle of the demo district.
CENTER = geo.Point(31.2235, 121.4460)
DEMO_PASSWORD = "jiefang-demo-2026"  # noqa: S105 - printed for the demo on purpose

DEMO_ACCOUNTS = [
    # username, display name, language, role
    ("resident", "李伟 Li Wei", "zh-hans", "resident"),
    ("shopkeeper", "王芳 Wang Fang", "zh-hans", "shopkeeper"),
    ("moderator", "陈静 Chen Jing", "en", "moderator"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
]
BIOS = [
    "住在愚园路二十年了，喜欢种花。",
    "Coffee lover, new to Jing'an. Happy to lend tools.",
    "两个孩子的妈妈，常去菜场。",
    "Retired teacher; I walk the dog on Wuding Road every morning.",
    "周末做烘焙，欢迎邻居来尝。",
    "",
]


def point_near(rng: random.Random, center: geo.Point, max_m: float) -> geo.Point:
    d = max_m * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = d * math.cos(bearing) / 111_320
    dlng = d * math.sin(bearing) / (111_320 * math.cos(math.radians(center.lat)))
    return geo.Point(center.lat + dlat, center.lng + dlng)


def moderators_group() -> Group:
    group, _ = Group.objects.get_or_create(name="Moderators")
    perms = Permission.objects.filter(content_type__app_label__in=["accounts"], codename__startswith="view_")
    group.permissions.add(*perms)
    return group


def seed(rng: random.Random, *, residents: int = 36) -> dict[str, Resident]:
    accounts: dict[str, Resident] = {}
    for username, name, language, role in DEMO_ACCOUNTS:
        r = services.resident_sign_up(
            username=username,
            email=f"{username}@demo.jiefang.local",
            password=DEMO_PASSWORD,
            display_name=name,
            language=language,
        )
        services.resident_home_set(resident=r, lat=CENTER.lat + rng.uniform(-0.004, 0.004), lng=CENTER.lng)
        if role == "moderator":
            r.is_staff = True
            r.save(update_fields=["is_staff"])
            r.groups.add(moderators_group())
        accounts[role] = r
    for i in range(residents):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        r = services.resident_sign_up(
            username=f"neighbour{i + 1}",
            email=f"neighbour{i + 1}@demo.jiefang.local",
            password=DEMO_PASSWORD,
            display_name=name,
            language=rng.choice(["zh-hans", "zh-hans", "en"]),
        )
        services.resident_profile_update(resident=r, bio=rng.choice(BIOS))
        p = point_near(rng, CENTER, 1500)
        services.resident_home_set(resident=r, lat=p.lat, lng=p.lng)
        accounts[f"neighbour{i + 1}"] = r
    return accounts

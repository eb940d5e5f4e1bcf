"""Demo shops around Jing'an Temple, Shanghai, made through the real services.

Each has its exact place, weekly hours, pledges and a photo or two drawn with Pillow (a shop front
in the shop's colours), some followers among the demo neighbours; the demo `shopkeeper` keeps the
bakery. Returns the shops so the market's demo can put up their stalls.
"""

from __future__ import annotations

import datetime as dt
import io
import random

from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from apps.accounts import demo as accounts_demo
from apps.accounts.models import Resident

from . import pledges, services
from .models import Shop

T = dt.time
EVERY_DAY = range(7)
WEEKDAYS = range(5)

# name, category, address, description, pledges {kind: terms}, hours [(days, opens, closes)],
# colours (wall, awning), verified, the demo account that keeps it (None: a neighbour)
SHOPS = [
    (
        "王记面包房 Wang's Bakery",
        "bakery",
        "愚园路 68 号 68 Yuyuan Road",
        "每天早上六点出炉：葱油饼、菠萝包、全麦吐司。Fresh from the oven at six every morning.",
        {pledges.FRESHNESS: {"hours": 12}, pledges.DELIVERY: {"hours": 2}},
        [(EVERY_DAY, T(7), T(20))],
        ((246, 226, 196), (194, 65, 12)),
        True,
        "shopkeeper",
    ),
    (
        "静安鲜果铺 Jing'an Fresh Fruit",
        "fruit_veg",
        "常德路 305 号 305 Changde Road",
        "当季水果，崇明来的青菜。Seasonal fruit and greens from Chongming Island.",
        {pledges.FRESHNESS: {"hours": 24}, pledges.REFUND_NO_RETURN: {"amount": 30}},
        [(EVERY_DAY, T(6, 30), T(21))],
        ((224, 242, 214), (22, 128, 61)),
        True,
        None,
    ),
    (
        "华山路便利店 Huashan Road Grocery",
        "groceries",
        "华山路 210 号 210 Huashan Road",
        "米、油、酱油、日用品，晚上开到十二点。Rice, oil, soy sauce and daily needs, open till midnight.",
        {pledges.RETURNS: {"days": 7}, pledges.COUNTERFEIT: {"multiple": 3}},
        [(EVERY_DAY, T(6, 30), T(23, 59))],
        ((235, 235, 240), (37, 99, 235)),
        True,
        None,
    ),
    (
        "老上海理发店 Old Shanghai Barber",
        "hair_beauty",
        "武定路 480 号 480 Wuding Road",
        "三十年的老手艺，剪发 25 元。Thirty years at the chair; a haircut is 25 yuan.",
        {pledges.REFUND_NO_RETURN: {"amount": 25}},
        [(range(1, 7), T(9), T(12)), (range(1, 7), T(13, 30), T(19))],
        ((250, 240, 230), (185, 28, 28)),
        False,
        None,
    ),
    (
        "万航渡路修鞋配钥匙 Shoe & Key Repair",
        "repairs",
        "万航渡路 92 号 92 Wanhangdu Road",
        "修鞋、配钥匙、换表带，立等可取。Shoes, keys and watch straps, done while you wait.",
        {pledges.RETURNS: {"days": 14}},
        [(WEEKDAYS, T(8), T(18)), ((5,), T(9), T(16))],
        ((230, 225, 215), (120, 53, 15)),
        False,
        None,
    ),
    (
        "仁心大药房 Renxin Pharmacy",
        "pharmacy",
        "南京西路 1788 号 1788 West Nanjing Road",
        "非处方药、保健品，药师在店。Over-the-counter medicine; a pharmacist is always in.",
        {pledges.COUNTERFEIT: {"multiple": 10}, pledges.DELIVERY: {"hours": 1}},
        [(EVERY_DAY, T(8), T(22))],
        ((236, 253, 245), (5, 150, 105)),
        True,
        None,
    ),
    (
        "镇宁路小笼馆 Zhenning Xiaolongbao",
        "restaurant",
        "镇宁路 405 号 405 Zhenning Road",
        "现包小笼、生煎、柴火馄饨。Soup dumplings, pan-fried buns and wontons made to order.",
        {pledges.FRESHNESS: {"hours": 2}, pledges.DELIVERY: {"hours": 1}},
        [(EVERY_DAY, T(6, 30), T(10, 30)), (EVERY_DAY, T(11), T(14)), (EVERY_DAY, T(17), T(21))],
        ((254, 243, 199), (217, 119, 6)),
        True,
        None,
    ),
    (
        "愚园路旧书屋 Yuyuan Second-hand Books",
        "second_hand",
        "愚园路 1107 号 1107 Yuyuan Road",
        "旧书、老唱片、连环画，可以换书。Old books, records and comics; swaps welcome.",
        {pledges.RETURNS: {"days": 7}},
        [(range(2, 7), T(10), T(19))],
        ((243, 232, 255), (109, 40, 217)),
        False,
        None,
    ),
    (
        "邻里家电维修 Neighbour Appliance Repair",
        "repairs",
        "北京西路 1320 号 1320 West Beijing Road",
        "空调清洗、洗衣机、电饭煲维修，上门服务。Air conditioners, washing machines, rice cookers; we come to you.",
        {pledges.REFUND_NO_RETURN: {"amount": 100}, pledges.COUNTERFEIT: {"multiple": 2}},
        [(WEEKDAYS, T(9), T(18)), ((5,), T(10), T(15))],
        ((224, 231, 255), (67, 56, 202)),
        False,
        None,
    ),
    (
        "干净角落洗衣店 Clean Corner Laundry",
        "services",
        "乌鲁木齐北路 250 号 250 North Urumqi Road",
        "洗衣、熨烫、改衣，当天取。Washing, ironing and alterations, ready the same day.",
        {pledges.DELIVERY: {"hours": 24}, pledges.REFUND_NO_RETURN: {"amount": 50}},
        [(EVERY_DAY, T(8), T(21))],
        ((224, 242, 254), (2, 132, 199)),
        True,
        None,
    ),
]


def shop_front(rng: random.Random, wall, awning, *, size=(960, 720)) -> SimpleUploadedFile:
    """A simple picture of a shop front: wall, striped awning, window with goods, door."""
    w, h = size
    image = Image.new("RGB", size, wall)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, h * 0.82, w, h), fill=(150, 150, 150))  # pavement
    stripes = 10
    for i in range(stripes):
        color = awning if i % 2 == 0 else (255, 255, 255)
        draw.polygon(
            [
                (i * w / stripes, h * 0.12),
                ((i + 1) * w / stripes, h * 0.12),
                ((i + 1) * w / stripes + 12, h * 0.28),
                (i * w / stripes + 12, h * 0.28),
            ],
            fill=color,
        )
    draw.rectangle((w * 0.08, h * 0.36, w * 0.62, h * 0.78), fill=(200, 225, 235), outline=(60, 60, 60), width=6)
    for _ in range(rng.randint(8, 16)):  # goods in the window
        x = rng.uniform(w * 0.1, w * 0.56)
        y = rng.uniform(h * 0.5, h * 0.72)
        r = rng.uniform(14, 30)
        shade = tuple(max(0, min(255, c + rng.randint(-60, 60))) for c in awning)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    draw.rectangle((w * 0.7, h * 0.36, w * 0.9, h * 0.82), fill=(90, 60, 40), outline=(40, 30, 20), width=6)
    draw.ellipse((w * 0.86, h * 0.58, w * 0.88, h * 0.61), fill=(230, 200, 80))
    draw.rectangle((0, 0, w, h * 0.1), fill=awning)  # the sign board
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return SimpleUploadedFile("front.jpg", out.getvalue(), content_type="image/jpeg")


def _moderators_may_verify_shops() -> None:
    group, _created = Group.objects.get_or_create(name="Moderators")
    perms = Permission.objects.filter(
        content_type__app_label="shops", codename__in=["view_shop", "change_shop", "verify_shop", "view_shoppledge"]
    )
    group.permissions.add(*perms)


def seed(rng: random.Random, accounts: dict[str, Resident]) -> list[Shop]:
    _moderators_may_verify_shops()
    moderator = Resident.objects.get(pk=accounts["moderator"].pk)  # fresh: permissions are cached
    neighbours = [r for key, r in accounts.items() if key.startswith("neighbour")]
    keepers = iter(neighbours[-len(SHOPS) :])
    shops = []
    for i, (name, category, address, description, shop_pledges, hours, colors, verified, keeper) in enumerate(SHOPS):
        owner = accounts[keeper] if keeper else next(keepers)
        point = accounts_demo.point_near(rng, accounts_demo.CENTER, 900)
        photos = [shop_front(rng, *colors) for _ in range(1 + (i % 2))]
        shop = services.shop_register(
            owner=owner,
            name=name,
            category=category,
            lat=round(point.lat, 6),
            lng=round(point.lng, 6),
            description=description,
            address=address,
            phone=f"021-{rng.randint(5000_0000, 6999_9999)}",
            time_zone="Asia/Shanghai",
            licence_number=f"91310106MA{rng.randint(10**7, 10**8 - 1)}",
            photos=photos,
        )
        services.shop_hours_set(
            shop=shop, by=owner, spans=[(day, opens, closes) for days, opens, closes in hours for day in days]
        )
        for kind, terms in shop_pledges.items():
            services.pledge_take(shop=shop, by=owner, kind=kind, terms=terms)
        if verified:
            services.shop_verify(shop=shop, moderator=moderator)
        for fan in rng.sample(neighbours, rng.randint(2, 9)):
            if fan.pk != owner.pk:
                services.shop_follow(shop=shop, resident=fan)
        shops.append(shop)

    bakery = shops[0]
    services.shop_staff_add(shop=bakery, by=bakery.owner, resident=neighbours[0])
    barber = shops[3]
    services.shop_exception_set(
        shop=barber,
        by=barber.owner,
        date=services.shop_today(barber) + dt.timedelta(days=3),
        closed=True,
        note="师傅回老家 The barber is visiting family",
    )
    if "resident" in accounts:
        services.shop_follow(shop=bakery, resident=accounts["resident"])
    return shops

"""A day's worth of stalls in the demo district, published through the real service."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from . import services

NEIGHBOUR_STALLS = [
    ("sale", "second_hand", "九成新自行车 Bicycle, barely used", "Giant 城市车，刚换了内胎。", "280"),
    ("free", "other", "Baby clothes, 0–12 months", "两大袋，洗干净了，自取。", None),
    ("wanted", "services", "找人帮忙修水龙头", "厨房水龙头一直滴水，周末有空的邻居吗？", "50"),
    ("service", "services", "English tutoring for kids", "Saturday mornings, at the library on Yuyuan Road.", "80"),
    ("sale", "second_hand", "宜家书架 IKEA bookshelf", "Billy 白色，需自提，三楼无电梯。", "120"),
    ("free", "other", "多肉植物分盆 Succulent cuttings", "阳台上长太多了，送给爱花的邻居。", None),
    ("event", "other", "楼下周六跳蚤市场 Saturday flea market", "在小区花园，欢迎大家带闲置来交换。", None),
    ("wanted", "second_hand", "Looking for a kid's desk", "Something small for a 6-year-old.", "150"),
    ("sale", "second_hand", "电饭煲 Rice cooker (Midea)", "搬家出，功能完好。", "60"),
    ("free", "other", "Moving boxes, about 20", "Flat-packed, pick up any evening.", None),
    ("service", "services", "遛狗 Dog walking", "每天早上7点路过武定路，可以顺便遛狗。", "20"),
    ("sale", "bakery", "Home-made mooncakes 自制月饼", "Lotus seed paste, a box of six.", "45"),
]

SHOP_STALLS = {
    "groceries": [("Fresh tofu, made this morning 今早现做豆腐", "4.50"), ("Eggs from Chongming, 10 for", "15")],
    "fruit_veg": [("Lychees 荔枝, 1 jin", "18"), ("Bok choy 青菜, 1 jin", "3.50"), ("Watermelon 西瓜, half", "12")],
    "bakery": [("Scallion buns 葱油花卷, 4 for", "6"), ("Sourdough loaf 酸面包", "28")],
    "restaurant": [("Lunch set: braised pork 红烧肉套餐", "32"), ("Wontons 荠菜馄饨, 20 pcs", "18")],
    "repairs": [("Phone screen replacement 手机换屏", "180"), ("Shoe heel repair 修鞋跟", "25")],
    "hair_beauty": [("Haircut 剪发 today only", "38")],
    "pharmacy": [("Face masks 口罩, box of 50", "25")],
    "second_hand": [("Vintage radio 老式收音机", "160")],
    "services": [("Key cutting 配钥匙", "10")],
    "other": [("Flowers 鲜花一束", "30")],
}


def picture(rng: random.Random, text: str) -> SimpleUploadedFile:
    color = tuple(rng.randint(120, 230) for _ in range(3))
    image = Image.new("RGB", (480, 360), color)
    ImageDraw.Draw(image).text((20, 20), text.encode("ascii", "ignore").decode()[:40], fill=(40, 40, 40))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=80)
    return SimpleUploadedFile("demo.jpg", buf.getvalue(), "image/jpeg")


def seed(rng: random.Random, accounts: dict, shops=()) -> list:
    stalls = []
    neighbours = [r for key, r in accounts.items() if key.startswith("neighbour")] + [accounts["resident"]]
    now = timezone.now()
    for kind, category, title, description, price in NEIGHBOUR_STALLS:
        seller = rng.choice(neighbours)
        stalls.append(
            services.stall_publish(
                seller=seller,
                kind=kind,
                category=category,
                title=title,
                description=description,
                price=price,
                starts_at=now + timedelta(days=2, hours=rng.randint(1, 8)) if kind == "event" else None,
                photos=[picture(rng, title)] if rng.random() < 0.6 else [],
            )
        )
    for shop in shops:
        for title, price in SHOP_STALLS.get(shop.category, SHOP_STALLS["other"]):
            stalls.append(
                services.stall_publish(
                    seller=shop.owner,
                    shop=shop,
                    kind="sale",
                    category=shop.category,
                    title=title,
                    price=price,
                    quantity=rng.randint(1, 30),
                    photos=[picture(rng, title)],
                )
            )
    return stalls

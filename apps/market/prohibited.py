"""What may not be offered in the market, and how we recognise it in a title or description.

Words are matched case-insensitively in English and Chinese. The list errs on the side of a clear
refusal with a reason the seller can read; moderators handle whatever slips through.
"""

from django.utils.translation import gettext_lazy as _

PROHIBITED = {
    "live_animals": (
        _("Live animals cannot be sold or given away on Jiefang."),
        [
            "live animal",
            "puppy",
            "puppies",
            "kitten",
            "live chicken",
            "live fish",
            "宠物狗",
            "小狗",
            "小猫",
            "活鸡",
            "活鸭",
            "活体",
        ],
    ),
    "weapons": (
        _("Weapons are not allowed on Jiefang."),
        [
            "gun",
            "pistol",
            "rifle",
            "crossbow",
            "taser",
            "stun gun",
            "ammunition",
            "枪支",
            "手枪",
            "弩",
            "电击器",
            "管制刀具",
            "弹药",
        ],
    ),
    "prescription_medicine": (
        _("Prescription medicine cannot be offered on Jiefang; ask a pharmacy."),
        ["prescription", "antibiotic", "处方药", "抗生素", "安眠药"],
    ),
    "counterfeit": (
        _("Counterfeit goods are not allowed on Jiefang."),
        ["counterfeit", "replica", "fake brand", "高仿", "a货", "复刻", "仿牌", "假货"],
    ),
    "gift_cards": (
        _("Gift cards and prepaid cards cannot be traded on Jiefang."),
        ["gift card", "prepaid card", "礼品卡", "购物卡", "充值卡", "储值卡"],
    ),
}


def prohibited_reason(*texts: str):
    """The reason a text is refused, or None. Latin words match whole words only ("gun" but not "begun")."""
    import re

    haystack = " ".join(t for t in texts if t).lower()
    for _key, (reason, words) in PROHIBITED.items():
        for word in words:
            if word.isascii():
                if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", haystack):
                    return reason
            elif word in haystack:
                return reason
    return None

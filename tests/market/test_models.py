from django.utils import translation

from apps.market.models import Stall


def test_kind_label_is_the_kind_in_the_readers_language():
    for kind in Stall.Kind.values:
        stall = Stall(kind=kind)
        for language in ("en", "zh-hans"):
            with translation.override(language):
                assert stall.kind_label == stall.get_kind_display()
    with translation.override("zh-hans"):
        assert Stall(kind="free").kind_label == "免费送"

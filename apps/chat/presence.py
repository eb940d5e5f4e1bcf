"""Who has a socket open on a conversation right now, kept in the cache (Redis when configured).

A counter per (conversation, user) that sockets raise on connect, lower on disconnect and keep
alive with their heartbeat; a process that dies leaves counters that expire after `TTL_S`.
It only decides whether a message also deserves an in-app notification, so an approximate
answer is fine.
"""

from __future__ import annotations

from django.core.cache import cache

TTL_S = 90  # the browser pings every 30 s


def _key(conversation_id: int, user_id: int) -> str:
    return f"chat:here:{conversation_id}:{user_id}"


def present_enter(conversation_id: int, user_id: int) -> None:
    key = _key(conversation_id, user_id)
    cache.add(key, 0, TTL_S)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, TTL_S)
    cache.touch(key, TTL_S)


def present_touch(conversation_id: int, user_id: int) -> None:
    if not cache.touch(_key(conversation_id, user_id), TTL_S):
        cache.set(_key(conversation_id, user_id), 1, TTL_S)


def present_leave(conversation_id: int, user_id: int) -> None:
    key = _key(conversation_id, user_id)
    try:
        if cache.decr(key) <= 0:
            cache.delete(key)
    except ValueError:
        pass


def present_among(conversation_id: int, user_ids) -> set[int]:
    keys = {_key(conversation_id, uid): uid for uid in user_ids}
    found = cache.get_many(list(keys))
    return {keys[k] for k, count in found.items() if count and count > 0}

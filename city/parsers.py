"""City's JSON parser: DRF's, with the body's size and nesting bounded before it is parsed.

Python's json module recurses once per level of nesting, so a small body nested a
thousand deep ends in a RecursionError (a 500) in the parser or in whatever walks the data
afterwards. The nesting is measured first, without recursion and without parsing: a body
whose brackets (outside strings) go deeper than `API_MAX_JSON_DEPTH` is 400 `invalid`.
A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` (`API_MAX_BODY_BYTES` in the environment) is 413
`too_large`, read no further than that.

The measure costs nothing for ordinary bodies: one with no more brackets than the limit
cannot be nested deeper than it, whatever its strings hold, and is not scanned.
"""

from itertools import accumulate

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils import json

_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SQUARE = bytes.maketrans(b"{}", b"[]")
_LEAF_PASSES = 4


def outside_strings(data: bytes) -> bytes:
    """The JSON text without its strings' contents. Escapes go first (an escaped backslash,
    then an escaped quote: JSON's own reading, left to right), so every quote left opens or
    closes a string. All in C (replace, split): linear, without a regex's backtracking."""
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(unescaped.split(b'"')[::2])


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (0 for a scalar), counting only
    brackets outside strings; without recursion."""
    brackets = outside_strings(data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(data: bytes, limit: int) -> bool:
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # fewer brackets than the limit, in strings or not
    brackets = outside_strings(data).translate(None, _NOT_BRACKETS).translate(_SQUARE)
    # Empty pairs ([] or {} once the strings and scalars are gone) are the innermost level:
    # a pass of replace (in C) takes them all away and lowers every other by one, so a few
    # passes first leave the step by step count below little to count in most bodies.
    passes = 0
    while passes < min(limit, _LEAF_PASSES) and brackets:
        brackets = brackets.replace(b"[]", b"")
        passes += 1
    # Stops at the first level past the limit: a deep body is not walked to its end.
    left = limit - passes
    return any(depth > left for depth in accumulate(map(_STEP.__getitem__, brackets)))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the body's size and nesting bounded (see the module)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        data = _read_bounded(stream, parser_context.get("request"))
        max_depth = settings.API_MAX_JSON_DEPTH
        if too_deep(data, max_depth):
            message = f"The JSON is nested more than {max_depth} deep, the most accepted."
            raise ValidationError({"body": [message]}, code="invalid")
        encoding = parsers.get_encoding(parser_context)
        try:
            text = data.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(f"JSON parse error - {exc}") from exc


def _read_bounded(stream, request) -> bytes:
    # Imported here: city.errors imports DRF's views, which import the parsers (this).
    from city import errors

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    if request is not None and _declared_length(request.META) > limit:
        raise errors.body_too_large()  # nothing read
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise errors.body_too_large()
    return data


def _declared_length(meta) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0

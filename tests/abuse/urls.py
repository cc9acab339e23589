"""Walking the URL patterns, so that the abuse tests cover a new page without listing it."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

# A value for an argument is the first of these its converter accepts: an id, a UUID, a word.
SAMPLES = ["1", "00000000-0000-4000-8000-000000000001", "x"]


def every_named_pattern(patterns=None, namespace=None):
    """(name with its namespace, pattern) of every named URL pattern."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from every_named_pattern(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def sample_arguments(pattern):
    """Keyword arguments that `pattern` accepts, one sample value each."""
    converters = pattern.pattern.converters
    names = set(converters) | set(pattern.pattern.regex.groupindex)
    return {name: next(value for value in SAMPLES
                       if name not in converters or re.fullmatch(converters[name].regex, value))
            for name in names}

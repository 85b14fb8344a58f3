"""The logs plugins name levels alike: one table of synonyms."""

import pytest

cloudwatch = pytest.importorskip('imbi_plugin_cloudwatch.query')
loki = pytest.importorskip('imbi_plugin_loki.query')


def test_one_level_table() -> None:
    assert loki.LEVEL_SYNONYMS == cloudwatch.LEVEL_SYNONYMS
    assert loki.CANONICAL_LEVEL == cloudwatch.CANONICAL_LEVEL


@pytest.mark.parametrize(
    'spelling', ['WARNING', 'Notice', 'dbg', 'panic', 'ALERT', 'custom', '']
)
def test_one_normalization(spelling: str) -> None:
    assert loki.normalize_level(spelling) == cloudwatch.normalize_level(
        spelling
    )

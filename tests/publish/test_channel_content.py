"""The text every channel shares: always within the platform's limit, link kept."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from minga.publish.channels.content import compose, fitting, url_weighted, utf16_length
from minga.publish.channels.telegram import markup
from tests.publish.standins.posts import dispatch
from tests.publish.standins.telegram import units, visible

words = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(" ✊🏽ñ<&>"),
    max_size=600,
)
MEASURES = {"len": len, "utf16": utf16_length, "mastodon": url_weighted(23)}


@hsettings(max_examples=300, deadline=None)
@given(
    title=words,
    summary=words,
    extra=words,
    tags=st.lists(words, max_size=8),
    limit=st.sampled_from([300, 500, 1024]),
    measure=st.sampled_from(sorted(MEASURES)),
    number=st.sampled_from([None, 3]),
)
def test_composed_text_fits_and_keeps_the_link(title, summary, extra, tags, limit, measure, number):
    post = dispatch(
        Path("/nonexistent"),
        title=title,
        summary=summary,
        text=summary,
        hashtags=tuple(tags),
        number=number,
        attachments=(),
    )
    parts = compose(post, limit, MEASURES[measure], extra=extra)
    assert MEASURES[measure](parts.joined()) <= limit
    assert post.url in parts.pieces()


@hsettings(max_examples=200, deadline=None)
@given(title=words, summary=words, extra=words)
def test_telegram_markup_parses_and_fits(title, summary, extra):
    post = dispatch(
        Path("/nonexistent"), title=title, summary=summary, text=summary, attachments=()
    )
    caption = markup(post, 1024, whole=False, extra=extra)
    assert units(visible(caption, "HTML")) <= 1024


def test_fitting_takes_the_largest_copy_under_the_limit(tmp_path):
    from tests.publish.standins.posts import picture

    photo = picture(tmp_path, big=True)
    assert fitting(photo, 10**9) is photo
    small, large = sorted(photo.variants, key=lambda v: v.size)
    assert fitting(photo, large.size) == large
    assert fitting(photo, large.size - 1) == small
    assert fitting(photo, small.size - 1) is None

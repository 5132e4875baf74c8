# Pelican settings for the site-build bench (bench/site_build.py): the same
# dispatches as minga's site, and the same kinds of pages and feeds — an
# article page each, index / tag / author pages paginated alike, the tag and
# author lists, an archive page and day archives, Atom and RSS for everything,
# for each tag and for each author. Categories are off (minga has none).
# Default theme (notmyidea). bench/site_dataset.py copies this file into the
# generated project and sets DEFAULT_PAGINATION and FEED_MAX_ITEMS there.

SITENAME = "La Minga"
SITEURL = "https://bench.example"  # feeds carry absolute links, as minga's do
RELATIVE_URLS = False
TIMEZONE = "UTC"
DEFAULT_LANG = "es"
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"

PATH = "content"
ARTICLE_PATHS = ["d"]
PAGE_PATHS = []
STATIC_PATHS = ["images"]

# Each dispatch is its own article (its own number), as in minga: a
# translation is listed like any other item, so no translation grouping.
ARTICLE_TRANSLATION_ID = None
ARTICLE_URL = "d/{slug}/"
ARTICLE_SAVE_AS = "d/{slug}/index.html"
ARTICLE_LANG_URL = "d/{slug}/"  # English dispatches live where Spanish ones do
ARTICLE_LANG_SAVE_AS = "d/{slug}/index.html"

TAG_URL = "tag/{slug}/"
TAG_SAVE_AS = "tag/{slug}/index.html"
TAGS_SAVE_AS = "tag/index.html"
AUTHOR_URL = "author/{slug}/"
AUTHOR_SAVE_AS = "author/{slug}/index.html"
AUTHORS_SAVE_AS = "author/index.html"
ARCHIVES_SAVE_AS = "archive/index.html"
DAY_ARCHIVE_URL = "archive/{date:%Y}/{date:%m}/{date:%d}/"
DAY_ARCHIVE_SAVE_AS = "archive/{date:%Y}/{date:%m}/{date:%d}/index.html"

CATEGORY_URL = ""
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
DISPLAY_CATEGORIES_ON_MENU = False
DISPLAY_PAGES_ON_MENU = False
DIRECT_TEMPLATES = ["index", "tags", "authors", "archives"]

DEFAULT_PAGINATION = 25
PAGINATED_TEMPLATES = {"index": None, "tag": None, "author": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
AUTHOR_FEED_ATOM = "feeds/author/{slug}.atom.xml"
AUTHOR_FEED_RSS = "feeds/author/{slug}.rss.xml"
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
FEED_MAX_ITEMS = 50
RSS_FEED_SUMMARY_ONLY = True

# A cold build every time: no content cache.
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False

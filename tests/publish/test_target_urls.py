"""Target URLs of the publish_targets setting: parsed, or refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from minga import config as minga_config
from minga.exceptions import ConfigError
from minga.publish.targets import blossom_servers, configured, target_for
from minga.publish.targets.blossom import BlossomTarget
from minga.publish.targets.folder import FolderTarget
from minga.publish.targets.git import GitTarget
from minga.publish.targets.s3 import S3Target


def test_each_kind_of_target():
    folder = target_for("folder:/srv/www/outlet")
    assert isinstance(folder, FolderTarget)
    assert folder.path == Path("/srv/www/outlet")
    assert target_for("folder:///srv/www").path == Path("/srv/www")
    bucket = target_for("s3://noticias.example/sitio/es/")
    assert isinstance(bucket, S3Target)
    assert (bucket.bucket, bucket.prefix) == ("noticias.example", "sitio/es/")
    for url, remote, branch in [
        ("git:/srv/git/pages.git", "/srv/git/pages.git", "gh-pages"),
        ("git:https://codeberg.org/prensa/pages.git#pages", "https://codeberg.org/prensa/pages.git", "pages"),
        ("git:git@github.com:prensa/prensa.github.io.git#main", "git@github.com:prensa/prensa.github.io.git", "main"),
        ("git:ssh://git@gitlab.example:2222/p/site.git#public/site", "ssh://git@gitlab.example:2222/p/site.git", "public/site"),
    ]:  # fmt: skip
        target = target_for(url)
        assert isinstance(target, GitTarget)
        assert (target.remote, target.branch, target.url) == (remote, branch, url)
    server = target_for("blossom:https://blossom.example/")
    assert isinstance(server, BlossomTarget)
    assert (server.server, server.domain) == ("https://blossom.example", "blossom.example")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://x/y", "unknown kind"),
        ("/srv/www", "unknown kind"),
        ("folder:srv/www", "absolute path"),
        ("s3://", "not a bucket name"),
        ("s3://Bad_Bucket/x", "not a bucket name"),
        ("s3://ok-bucket/../x", "may not hold"),
        ("git:", "git:<repository>#<branch>"),
        ("git:--upload-pack=touch /tmp/x#main", "git:<repository>#<branch>"),
        ("git:ext::sh -c touch% /tmp/x", "git:<repository>#<branch>"),
        ("git:ext::sh#main", "absolute path, a URL or user@host:path"),
        ("git:file.example:repo", "absolute path, a URL or user@host:path"),
        ("git:ftp://host/repo.git", "https, ssh or local"),
        ("git:/srv/repo.git#bad..branch", "not a usable branch name"),
        ("git:/srv/repo.git#-f", "not a usable branch name"),
        ("git:/srv/repo.git#x.lock", "not a usable branch name"),
        ("blossom:blossom.example", "blossom:https://server"),
        ("blossom:https://blossom.example/upload", "root of its domain"),
    ],
)
def test_malformed_targets_are_refused_clearly(url, says):
    with pytest.raises(ConfigError, match="publish target") as refused:
        target_for(url)
    assert says in refused.value.message


def test_configured_targets_in_order_without_repeats(settings):
    settings.MINGA = minga_config.load(
        {
            "publish_targets": " folder:/srv/www ,blossom:https://a.example,,"
            "s3://bucket/x, folder:/srv/www, blossom:https://b.example/"
        }
    )
    assert [t.url for t in configured()] == [
        "folder:/srv/www",
        "blossom:https://a.example",
        "s3://bucket/x",
        "blossom:https://b.example/",
    ]
    assert blossom_servers() == ["https://a.example", "https://b.example"]
    settings.MINGA = minga_config.load({"publish_targets": ""})
    assert configured() == []

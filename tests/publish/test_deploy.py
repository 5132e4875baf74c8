"""Deploying through recorded jobs: scheduling, superseding, retries, recovery,
status; with folder targets on disk and an S3 server (moto) that goes away."""

from __future__ import annotations

import time

import pytest

from minga import config as minga_config
from minga.publish import deploy, jobs
from minga.publish.manifest import MANIFEST_PATH
from minga.publish.models import Deployment, JobState
from minga.store import query
from tests.publish.sites import BASE_TIME, build, files_v1, files_v2, tree
from tests.publish.test_target_s3 import MotoS3

LATER = 10**10  # a "now" after any backoff


@pytest.fixture
def two_folders(settings, tmp_path):
    urls = [f"folder:{tmp_path / 'www'}", f"folder:{tmp_path / 'onion'}"]
    settings.MINGA = minga_config.load({"publish_targets": ",".join(urls)})
    return urls


def held(site) -> dict[str, bytes]:
    return {**site.files, MANIFEST_PATH: site.manifest_file}


def rows() -> dict[tuple[str, str], str]:
    return {(d.target, d.aggregate): d.state for d in Deployment.objects.all()}


def test_a_version_is_deployed_to_every_target(newsroom, two_folders, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    scheduled = deploy.schedule(site.manifest)
    assert [d.target for d in scheduled] == two_folders
    assert query.get(site.manifest.id) is not None  # the manifest is kept in the store
    ran = deploy.run_due(site.root)
    assert [d.state for d in ran] == [JobState.DONE, JobState.DONE]
    assert all(d.files_sent == len(site.files) for d in ran)
    assert tree(tmp_path / "www") == held(site)
    assert tree(tmp_path / "onion") == held(site)
    states = deploy.status()
    assert [(s.target, s.state, s.version, s.live_version) for s in states] == [
        (url, JobState.DONE, site.aggregate, site.aggregate) for url in two_folders
    ]
    assert deploy.run_due(site.root) == []  # nothing left to do


def test_the_next_version_sends_only_changes_and_older_waiting_ones_are_superseded(
    newsroom, two_folders, tmp_path
):
    key = newsroom.outlet_key
    v1 = build(tmp_path / "site", key)
    deploy.schedule(v1.manifest)
    deploy.run_due(v1.root)
    # Two versions arrive before the deployer runs again: only the newest goes out.
    middle = build(tmp_path / "site", key, {**files_v1(), "/x.html": b"x"}, BASE_TIME + 30)
    deploy.schedule(middle.manifest)
    v2 = build(tmp_path / "site", key, files_v2(), BASE_TIME + 60)
    deploy.schedule(v2.manifest)
    assert {rows()[(u, middle.aggregate)] for u in two_folders} == {JobState.SUPERSEDED}
    ran = deploy.run_due(v2.root)
    assert [(d.aggregate, d.state) for d in ran] == [(v2.aggregate, JobState.DONE)] * 2
    assert [(d.files_sent, d.files_deleted) for d in ran] == [(4, 1), (4, 1)]
    assert tree(tmp_path / "www") == held(v2)
    # The same version scheduled again: the targets already hold it.
    deploy.schedule(v2.manifest)
    assert deploy.run_due(v2.root) == []


def test_an_older_version_waiting_gives_way_to_the_site_built_since(
    newsroom, two_folders, tmp_path
):
    v1 = build(tmp_path / "site", newsroom.outlet_key)
    deploy.schedule(v1.manifest)
    v2 = build(tmp_path / "site", newsroom.outlet_key, files_v2(), BASE_TIME + 60)
    ran = deploy.run_due(v2.root)  # v2 was built but not (yet) scheduled
    assert [(d.aggregate, d.state) for d in ran] == [(v2.aggregate, JobState.DONE)] * 2
    assert {rows()[(u, v1.aggregate)] for u in two_folders} == {JobState.SUPERSEDED}
    assert tree(tmp_path / "onion") == held(v2)


def test_a_version_the_site_does_not_hold_yet_waits(newsroom, two_folders, tmp_path):
    v1 = build(tmp_path / "site", newsroom.outlet_key)
    ahead = build(tmp_path / "next", newsroom.outlet_key, files_v2(), BASE_TIME + 60)
    deploy.schedule(ahead.manifest)
    ran = deploy.run_due(v1.root)
    assert [d.state for d in ran] == [JobState.PENDING] * 2
    assert all("does not hold this version" in d.last_error for d in ran)
    assert all(d.next_attempt > time.time() for d in ran)
    assert not (tmp_path / "www").exists()
    assert deploy.run_due(ahead.root, now=LATER)[0].state == JobState.DONE


def test_going_back_to_an_earlier_version_deploys_it_again(newsroom, two_folders, tmp_path):
    key = newsroom.outlet_key
    v1 = build(tmp_path / "site", key)
    deploy.schedule(v1.manifest)
    deploy.run_due(v1.root)
    v2 = build(tmp_path / "site", key, files_v2(), BASE_TIME + 60)
    deploy.schedule(v2.manifest)
    deploy.run_due(v2.root)
    back = build(tmp_path / "site", key, files_v1(), BASE_TIME + 120)  # same files as v1
    assert back.aggregate == v1.aggregate
    deploy.schedule(back.manifest)
    ran = deploy.run_due(back.root)
    assert [(d.state, d.manifest_id) for d in ran] == [(JobState.DONE, back.manifest.id)] * 2
    assert tree(tmp_path / "www") == held(back)
    assert [s.live_version for s in deploy.status()] == [v1.aggregate] * 2


def test_a_crash_while_deploying_is_recovered(newsroom, two_folders, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    deploy.schedule(site.manifest)
    claimed = jobs.claim(Deployment)  # a worker took them, then the process died
    assert len(claimed) == 2
    assert deploy.run_due(site.root) == []
    assert deploy.recover() == 2
    assert set(rows().values()) == {JobState.PENDING}
    assert [d.state for d in deploy.run_due(site.root)] == [JobState.DONE] * 2
    assert tree(tmp_path / "www") == held(site)


def test_one_target_at_a_time(newsroom, two_folders, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    deploy.schedule(site.manifest)
    with deploy._exclusive(two_folders[0]):  # another process is deploying there
        ran = deploy.run_due(site.root)
    assert [d.state for d in ran] == [JobState.PENDING, JobState.DONE]
    assert "another deployment" in ran[0].last_error
    assert deploy.run_due(site.root, now=LATER)[0].state == JobState.DONE


def test_refusals_fail_for_a_person_and_others_go_on(newsroom, settings, tmp_path):
    urls = ["folder:/etc", f"folder:{tmp_path / 'www'}"]
    settings.MINGA = minga_config.load({"publish_targets": ",".join(urls)})
    site = build(tmp_path / "site", newsroom.outlet_key)
    deploy.schedule(site.manifest)
    ran = deploy.run_due(site.root)
    assert [d.state for d in ran] == [JobState.FAILED, JobState.DONE]
    status = deploy.status()
    assert status[0].state == JobState.FAILED
    assert "refusing" in status[0].error
    assert status[0].live_version == ""
    assert deploy.run_due(site.root, now=LATER) == []  # failed jobs wait for a person
    jobs.retry_now(Deployment.objects.get(target="folder:/etc"))
    assert deploy.run_due(site.root)[0].state == JobState.FAILED


def test_a_target_taken_out_of_the_settings_is_set_aside(newsroom, two_folders, settings, tmp_path):
    site = build(tmp_path / "site", newsroom.outlet_key)
    deploy.schedule(site.manifest)
    settings.MINGA = minga_config.load({"publish_targets": two_folders[1]})
    ran = deploy.run_due(site.root)
    assert [d.target for d in ran] == [two_folders[1]]
    assert rows()[(two_folders[0], site.aggregate)] == JobState.SUPERSEDED
    assert not (tmp_path / "www").exists()


def test_an_s3_server_that_is_down_is_retried_until_it_is_back(
    newsroom, settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("MINGA_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("MINGA_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = MotoS3()
    s3.start()
    try:
        with s3.client() as client:
            client.create_bucket(Bucket="sitio-deploy")
        settings.MINGA = minga_config.load(
            {"publish_targets": "s3://sitio-deploy/www", "s3_endpoint": s3.url}
        )
        site = build(tmp_path / "site", newsroom.outlet_key)
        deploy.schedule(site.manifest)
        s3.stop()
        first = deploy.run_due(site.root)[0]
        assert (first.state, first.attempts) == (JobState.PENDING, 1)
        assert first.last_error
        assert deploy.run_due(site.root) == []  # not due yet: backoff
        status = deploy.status()[0]
        assert (status.state, status.error, status.live_version) == (
            JobState.PENDING,
            first.last_error,
            "",
        )
        s3.start()
        second = deploy.run_due(site.root, now=LATER)[0]
        assert (second.state, second.attempts, second.last_error) == (JobState.DONE, 2, "")
        assert second.files_sent == len(site.files)
        with s3.client() as client:
            listed = client.list_objects_v2(Bucket="sitio-deploy")["Contents"]
        assert len(listed) == len(site.files) + 1  # and the manifest
    finally:
        if s3.server is None:
            s3.start()
        with s3.client() as client:
            for item in client.list_objects_v2(Bucket="sitio-deploy").get("Contents", []):
                client.delete_object(Bucket="sitio-deploy", Key=item["Key"])
            client.delete_bucket(Bucket="sitio-deploy")
        s3.stop()


def test_versions_pruned_from_the_store_do_not_stop_deploys(newsroom, two_folders, tmp_path):
    """The publisher keeps only the newest manifests: a deployment whose own
    manifest, or whose target's live one, is gone still deploys the site."""
    from minga.store.prune import prune_versions

    key = newsroom.outlet_key
    v1 = build(tmp_path / "site", key)
    deploy.schedule(v1.manifest)
    deploy.run_due(v1.root)
    v2 = build(tmp_path / "site", key, files_v2(), BASE_TIME + 60)
    deploy.schedule(v2.manifest)
    resigned = build(tmp_path / "site", key, files_v2(), BASE_TIME + 90)  # same files
    assert resigned.aggregate == v2.aggregate
    deploy.schedule(resigned.manifest)
    assert prune_versions(v1.manifest.address, 1) == 2  # v1 and the first v2 are gone
    assert query.get(v1.manifest.id) is None
    assert query.get(v2.manifest.id) is None
    ran = deploy.run_due(resigned.root)
    assert [(d.state, d.manifest_id) for d in ran] == [(JobState.DONE, resigned.manifest.id)] * 2
    assert [(d.files_sent, d.files_deleted) for d in ran] == [(4, 1)] * 2  # hashed, not assumed
    assert tree(tmp_path / "www") == held(resigned)

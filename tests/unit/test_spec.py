from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot.errors import ChannelError, UsageError
from mambaboot.spec import CreateRequest, normalize_channel, validate_spec


def test_channel_names_urls_and_directories(tmp_path: Path) -> None:
    assert normalize_channel("conda-forge") == "https://conda.anaconda.org/conda-forge"
    assert normalize_channel("https://mirror.example/cf/") == "https://mirror.example/cf"
    (tmp_path / "noarch").mkdir()
    (tmp_path / "noarch" / "repodata.json").write_text("{}")
    assert normalize_channel(str(tmp_path)) == tmp_path.as_uri()


def test_missing_or_unindexed_channel_directory_is_a_failed_operation(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match="does not exist") as info:
        normalize_channel(str(tmp_path / "nope"))
    assert info.value.exit_code == 1
    with pytest.raises(ChannelError, match=r"no \*/repodata\.json"):
        normalize_channel(str(tmp_path))


@pytest.mark.parametrize("bad", ["", "a b c", "$(x)"])
def test_bad_channel_strings(bad: str) -> None:
    with pytest.raises(UsageError):
        normalize_channel(bad)


def test_default_specs_and_managers() -> None:
    assert CreateRequest("e", "3.12").specs == ["python=3.12", "pip", "conda", "mamba"]
    assert CreateRequest("e", None, managers=False, extra=("numpy>=1",)).specs == [
        "python", "pip", "numpy>=1"]
    assert CreateRequest("e", None, managers=False, pip=False).specs == ["python"]
    with pytest.raises(UsageError):
        validate_spec("numpy; rm -rf /")


@pytest.mark.parametrize("channel", ["s3://bucket/conda", "oci://ghcr.io/channel-mirrors/x",
                                     "gcs://bucket/ch"])
def test_object_storage_channels_pass_through_not_mistaken_for_directories(channel: str) -> None:
    assert normalize_channel(channel + "/") == channel
    scheme = channel.split(":", 1)[0]
    with pytest.raises(UsageError, match="names no bucket or registry"):
        normalize_channel(f"{scheme}://")

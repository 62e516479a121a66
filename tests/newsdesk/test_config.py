"""Settings: one typed object from flags, ``NEWSDESK_*`` variables and documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from newsdesk.config import REPO_ROOT, Settings


def test_every_setting_is_documented_in_the_readme_with_its_variable() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`NEWSDESK_{name.upper()}`" in readme, f"NEWSDESK_{name.upper()} missing from README"
        assert field.description and "Default" in field.description, f"{name} has no documented default"


def test_environment_variables_set_values_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_K", "7")
    monkeypatch.setenv("NEWSDESK_HOME", "/tmp/somewhere")
    assert Settings().k == 7 and Settings().index_dir == Path("/tmp/somewhere/index")
    assert Settings(k=3).k == 3


def test_the_app_binds_to_this_machine_unless_told_otherwise() -> None:
    assert Settings().host == "127.0.0.1"


def test_bad_values_are_rejected_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_K", "many")
    with pytest.raises(ValidationError, match="k"):
        Settings()


def test_rate_limits_must_be_written_as_the_limits_library_reads_them() -> None:
    assert Settings(rate_limit="10/second", login_attempts="3/hour").login_attempts == "3/hour"
    assert Settings(rate_limit="").rate_limit == ""
    with pytest.raises(ValidationError, match="5/minute"):
        Settings(login_attempts="five a minute")


def test_server_mode_keeps_local_state_per_server_and_collection() -> None:
    settings = Settings(chroma_url="http://10.0.0.5:8000", home=Path("/data"), collection="news")
    assert settings.lexical_path == Path("/data/mirrors/http_10_0_0_5_8000-news.sqlite")
    assert settings.state_dir == Path("/data/state/http_10_0_0_5_8000-news")
    assert Settings(hybrid=False).lexical_path is None

"""The optional login: off without ``admin_password``; with it, every page but the API and monitors asks first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.web import get_state
from tests.web.forms import CSRF_RE, form_token, read_id, upload

MakeApp = Callable[..., Flask]
PASSWORD = "correct horse battery staple"
PAGES = ["/", "/history", "/watchlist", "/vehicles", "/vehicles/new", "/settings", "/api-docs", "/reads/1",
         "/images/" + "0" * 64 + ".jpg"]


@pytest.fixture
def locked(make_app: MakeApp) -> Flask:
    return make_app(admin_password=PASSWORD)


def log_in(client: FlaskClient, password: str = PASSWORD, next_url: str = "/") -> tuple[int, str]:
    html = client.get("/login").get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, html
    res = client.post("/login", data={"csrf_token": match.group(1), "password": password, "next": next_url})
    return res.status_code, res.headers.get("Location") or res.get_data(as_text=True)


def test_without_a_password_every_page_is_open(client: FlaskClient) -> None:
    for path in PAGES[:7]:
        assert client.get(path).status_code == 200, path
    html = client.get("/").get_data(as_text=True)
    assert "Log out" not in html
    assert 'aria-label="Main"' in html
    res = client.get("/login?next=/history")
    assert res.status_code == 303 and res.headers["Location"] == "/history"


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_the_login(locked: Flask, path: str) -> None:
    res = locked.test_client().get(path)
    assert res.status_code == 303
    assert res.headers["Location"].startswith("/login?next=")


def test_monitors_static_files_and_the_api_need_no_login(locked: Flask) -> None:
    client = locked.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/api/openapi.json").status_code == 200
    res = client.get("/api/v1/reads")  # the API asks for its token, not the password
    assert res.status_code == 401 and res.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/v1/plate-reader/").status_code == 403  # a token refused, as Plate Recognizer answers


def test_wrong_password_is_401_and_the_right_one_opens_the_pages(locked: Flask, car_jpeg: bytes) -> None:
    client = locked.test_client()
    res = client.get("/login")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert '<label for="password">' in html and 'autocomplete="current-password"' in html
    assert 'aria-label="Main"' not in html  # no navigation before logging in

    status, body = log_in(client, "wrong")
    assert status == 401
    assert "That password is not right." in body
    assert client.get("/history").status_code == 303

    status, location = log_in(client, next_url="/history?plate=AB1")
    assert (status, location) == (303, "/history?plate=AB1")
    for path in PAGES[:7]:
        assert client.get(path).status_code == 200, path
    html = client.get("/settings").get_data(as_text=True)
    assert "Log out" in html
    assert PASSWORD not in html
    assert read_id(upload(client, car_jpeg)) == 1  # a fresh CSRF token after login works


def test_logout(locked: Flask) -> None:
    client = locked.test_client()
    log_in(client)
    token = form_token(client, "/history")
    res = client.post("/logout", data={"csrf_token": token})
    assert res.status_code == 303 and res.headers["Location"] == "/login"
    assert client.get("/history").status_code == 303


def test_login_needs_the_csrf_token(locked: Flask) -> None:
    client = locked.test_client()
    client.get("/login")
    res = client.post("/login", data={"password": PASSWORD})
    assert res.status_code == 400
    assert client.get("/history").status_code == 303


@pytest.mark.parametrize(
    ("next_url", "location"),
    [("/watchlist", "/watchlist"), ("//evil.example/", "/"), ("https://evil.example/", "/"),
     ("/\\evil.example", "/"), ("", "/"), ("history", "/")],
)
def test_login_only_returns_to_this_site(locked: Flask, next_url: str, location: str) -> None:
    assert log_in(locked.test_client(), next_url=next_url) == (303, location)


def test_unauthenticated_upload_is_refused(locked: Flask, car_jpeg: bytes) -> None:
    client = locked.test_client()
    html = client.get("/login").get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match
    res = upload(client, car_jpeg, token=match.group(1))
    assert res.status_code == 303 and res.headers["Location"].startswith("/login")
    assert get_state(locked).reads.counts()["reads"] == 0


def test_an_oversized_upload_before_logging_in_goes_to_the_login_not_413(make_app: MakeApp) -> None:
    app = make_app(admin_password=PASSWORD, max_upload_mb=0.01, max_video_mb=0.01)
    res = upload(app.test_client(), b"\xff" * 50_000, token="")
    assert res.status_code == 303 and res.headers["Location"].startswith("/login")


def test_wrong_passwords_are_throttled_per_client(locked: Flask) -> None:
    # Forty wrong passwords took 0.45 s with no delay or lockout.
    client = locked.test_client()
    for _ in range(5):
        assert log_in(client, "wrong")[0] == 401
    status, body = log_in(client)  # even the right one waits out the window
    assert status == 429 and "Too many wrong passwords. Try again in 15 minute(s)." in body
    other = locked.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert log_in(other)[0] == 303  # another address is not held up


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    from numberplate.web.login import LOGIN_WINDOW_S, LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(5):
        throttle.failed("a")
    assert throttle.wait_s("a") == LOGIN_WINDOW_S and throttle.wait_s("b") == 0.0
    now[0] = LOGIN_WINDOW_S + 1
    assert throttle.wait_s("a") == 0.0
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.wait_s("a") == 0.0


def test_a_login_ends_when_the_password_changes_and_expires(locked: Flask) -> None:
    # The session cookie was valid for 31 days whatever happened: logging out or a new password did not end it.
    client = locked.test_client()
    assert log_in(client)[0] == 303
    assert client.get("/history").status_code == 200
    cookie = client.get_cookie("numberplate_session")
    assert cookie is not None and cookie.expires is not None  # a permanent session: it has an end
    state = get_state(locked)
    state.config = state.config.replace(admin_password="a new password")
    assert client.get("/history").status_code == 303  # back to the login


@pytest.mark.parametrize("target", ["/x\r\nX-Evil: 1", "/x\nY", "/x\x7f"])
def test_control_characters_in_next_go_to_the_start_page(client: FlaskClient, target: str) -> None:
    # A CR/LF reached the Location header: a 500.
    res = client.get("/login", query_string={"next": target})
    assert res.status_code == 303 and res.headers["Location"] == "/"


@pytest.mark.parametrize(("host", "status"), [
    ("localhost", 200), ("127.0.0.1:8000", 200), ("[::1]:8000", 200), ("LOCALHOST", 200),
    ("rebind.evil.example:8000", 400), ("127.0.0.1.evil.example", 400),
])
def test_a_server_on_a_loopback_address_answers_only_to_loopback_names(client: FlaskClient, host: str,
                                                                       status: int) -> None:
    # DNS rebinding: a page on another site resolved its own name to 127.0.0.1 and used the settings page.
    res = client.get("/settings", headers={"Host": host})
    assert res.status_code == status
    if status == 400:
        assert "does not answer to the host name" in res.get_data(as_text=True)


def test_trusted_hosts_setting_and_public_binding(make_app: MakeApp) -> None:
    named = make_app(trusted_hosts="anpr.example.org, .cams.example.org").test_client()
    assert named.get("/", headers={"Host": "anpr.example.org"}).status_code == 200
    assert named.get("/", headers={"Host": "gate1.cams.example.org"}).status_code == 200
    assert named.get("/", headers={"Host": "localhost"}).status_code == 400
    public = make_app(host="0.0.0.0").test_client()  # reachable by any name: the operator names them if they wish
    assert public.get("/", headers={"Host": "10.1.2.3:8000"}).status_code == 200

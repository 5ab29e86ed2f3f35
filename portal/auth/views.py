"""Sign-in and sign-out pages (session cookie, CSRF-protected forms)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from portal.auth import throttle
from portal.auth.policy import PUBLIC, SIGNED_IN, access, user_by_email

bp = Blueprint("auth", __name__)

# A fixed hash to compare against when the e-mail is unknown, so both paths cost the same.
_DUMMY_HASH = "scrypt:32768:8:1$5tB1t7yT2ZQ1b8sY$" + "0" * 128


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only follow same-site relative redirects after sign-in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("billing.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    """Show the sign-in form; on success start a session."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        keys = throttle.keys_for(form.email.data or "", request.remote_addr)
        wait = throttle.locked_for(keys)
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            error = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            return render_template("auth/login.html", form=form, error=error), 429, {"Retry-After": str(int(wait.total_seconds()) + 1)}
        user = user_by_email(form.email.data or "")
        stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
        try:
            ok = check_password_hash(stored, form.password.data or "")
        except ValueError:
            ok = False
        if user is not None and user.password_hash and ok:
            throttle.clear(keys[0])
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        throttle.record_failure(keys)
        error = "That e-mail and password do not match an account."
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
@access(SIGNED_IN, tokens=False)
def logout():
    """End the session."""
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))

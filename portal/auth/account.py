"""The signed-in user's API tokens: create (shown once), list, revoke."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.auth.policy import SIGNED_IN, access, current_principal
from portal.auth.tokens import create_token
from portal.extensions import db
from portal.models import ApiToken, utcnow

bp = Blueprint("account", __name__, url_prefix="/account")

SCOPE_CHOICES = [
    SelectChoice("read", "read: list usage and analytics (widgets)"),
    SelectChoice("ingest", "ingest: record usage (services)"),
]


class NewTokenForm(FlaskForm):
    """A name to recognise the token by, and what it may do."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    scopes = SelectMultipleField(
        "Scopes", choices=SCOPE_CHOICES, default=["read"], validators=[DataRequired(message="Choose at least one scope.")],
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput(),
    )


class RevokeForm(FlaskForm):
    """Only the CSRF token: revoking needs no other input."""


def _own_tokens() -> list[ApiToken]:
    """The caller's tokens, newest first."""
    user = current_principal().user
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


@bp.get("/tokens")
@access(SIGNED_IN, tokens=False)
def tokens():
    """List tokens and offer a form for a new one."""
    return render_template("account/tokens.html", tokens=_own_tokens(), form=NewTokenForm(), revoke_form=RevokeForm(), new_token=None)


@bp.post("/tokens")
@access(SIGNED_IN, tokens=False)
def create():
    """Create a token and show it once; only its hash is kept."""
    form = NewTokenForm()
    if not form.validate_on_submit():
        return render_template("account/tokens.html", tokens=_own_tokens(), form=form, revoke_form=RevokeForm(), new_token=None), 400
    token, plain = create_token(current_principal().user, name=form.name.data.strip(), scopes=frozenset(form.scopes.data))
    response = render_template("account/tokens.html", tokens=_own_tokens(), form=NewTokenForm(formdata=None),
                               revoke_form=RevokeForm(), new_token=plain, new_token_row=token)
    # The secret is in this page only: keep it out of every cache.
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@access(SIGNED_IN, tokens=False)
def revoke(token_id: int):
    """Revoke one of the caller's tokens; another user's token is 'not found'."""
    if not RevokeForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_principal().user.id:
        abort(404, description="No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    flash(f"Token “{token.name or token.prefix}” revoked; requests that use it now get 401.")
    return redirect(url_for("account.tokens"))

"""Users and their tokens (admin only), and `me` for anyone signed in."""

from fastapi import APIRouter, HTTPException

from ecoradar.errors import InputError, NotFound
from ecoradar.web import auth
from ecoradar.web.deps import Admin, CurrentUser, SessionDep
from ecoradar.web.models import Me, UserCreate, UserCreated, UserPublic, UsersPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=Me)
def read_me(user: CurrentUser) -> Me:
    """Who the token or session belongs to."""
    return Me(name=user.name, role=user.role)


@router.get("", response_model=UsersPublic)
def list_users(session: SessionDep, _admin: Admin) -> UsersPublic:
    """Every user (never their tokens)."""
    users = [UserPublic.model_validate(u, from_attributes=True) for u in auth.list_users(session)]
    return UsersPublic(data=users, count=len(users))


@router.post("", response_model=UserCreated, status_code=201)
def create_user(body: UserCreate, session: SessionDep, _admin: Admin) -> UserCreated:
    """Create a user; the answer holds the token, shown this once."""
    try:
        user, token = auth.add_user(session, name=body.name, role=body.role)
    except InputError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    session.commit()
    return UserCreated(id=user.id, name=user.name, role=user.role, created_at=user.created_at, token=token)


@router.delete("/{name}", status_code=204)
def delete_user(name: str, session: SessionDep, _admin: Admin) -> None:
    """Remove a user; their token stops working."""
    try:
        auth.delete_user(session, name=name)
    except NotFound:
        raise HTTPException(404, detail="User not found") from None
    session.commit()

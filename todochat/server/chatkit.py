"""`POST /chatkit`: the ChatKit server protocol over the same core (extra `chatkit`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

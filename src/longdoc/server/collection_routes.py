"""The collection routes: named groups of files, asked about with
`collection_id` in a chat request (see collections.py, docs/server.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from .state import read_json, state_of

router = APIRouter()


class NewCollection(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    file_ids: list[str] = []


class CollectionChange(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


class FileIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file_ids: list[str]


@router.get("/v1/collections")
async def list_collections(request: Request) -> dict[str, Any]:
    return {"object": "list", "data": [c.to_api() for c in state_of(request).collections.all()]}


@router.post("/v1/collections")
async def create_collection(request: Request) -> dict[str, Any]:
    state = state_of(request)
    body = await read_json(request, NewCollection)
    for file_id in body.file_ids:
        state.files.get(file_id)  # 404 for an unknown file
    return state.collections.create(body.name, body.file_ids).to_api()


@router.get("/v1/collections/{collection_id}")
async def get_collection(request: Request, collection_id: str) -> dict[str, Any]:
    return state_of(request).collections.get(collection_id).to_api()


@router.patch("/v1/collections/{collection_id}")
async def rename_collection(request: Request, collection_id: str) -> dict[str, Any]:
    body = await read_json(request, CollectionChange)
    return state_of(request).collections.rename(collection_id, body.name).to_api()


@router.delete("/v1/collections/{collection_id}")
async def delete_collection(request: Request, collection_id: str) -> dict[str, Any]:
    """The collection goes; its files stay."""
    state_of(request).collections.delete(collection_id)
    return {"id": collection_id, "object": "collection", "deleted": True}


@router.post("/v1/collections/{collection_id}/files")
async def add_to_collection(request: Request, collection_id: str) -> dict[str, Any]:
    state = state_of(request)
    body = await read_json(request, FileIds)
    state.collections.get(collection_id)
    for file_id in body.file_ids:
        state.files.get(file_id)
    return state.collections.add_files(collection_id, body.file_ids).to_api()


@router.delete("/v1/collections/{collection_id}/files/{file_id}")
async def remove_from_collection(request: Request, collection_id: str, file_id: str) -> dict[str, Any]:
    """The file leaves the collection; it is not deleted."""
    return state_of(request).collections.remove_file(collection_id, file_id).to_api()

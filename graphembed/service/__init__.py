"""The HTTP neighbour service (FastAPI + uvicorn, the ``[serve]`` extra); see ``service.app``."""
